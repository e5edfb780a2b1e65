package builder

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestOnPhaseReportsEachPhaseThatRuns: the hook sees each phase start then end, in order, with
// the phase's log lines between them; a failing PRE_BUILD ends the build, so BUILD, POST_BUILD
// and UPLOAD_ARTIFACTS are not reported. StartTime is CODEBUILD_START_TIME.
func TestOnPhaseReportsEachPhaseThatRuns(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      []string
	}{
		{"succeeds", "version: 0.2\nphases:\n  install:\n    commands: [echo in-install]\n  build:\n    commands: [echo start=$CODEBUILD_START_TIME]\n",
			[]string{"INSTALL start", "INSTALL SUCCEEDED", "PRE_BUILD start", "PRE_BUILD SUCCEEDED", "BUILD start", "BUILD SUCCEEDED",
				"POST_BUILD start", "POST_BUILD SUCCEEDED", "UPLOAD_ARTIFACTS start", "UPLOAD_ARTIFACTS SUCCEEDED"}},
		{"pre_build fails", "version: 0.2\nphases:\n  pre_build:\n    commands: [exit 3]\n  build:\n    commands: [echo never]\n",
			[]string{"INSTALL start", "INSTALL SUCCEEDED", "PRE_BUILD start", "PRE_BUILD FAILED"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := options(t)
			log := &syncBuffer{}
			opts.Log = log
			opts.StartTime = time.UnixMilli(1234567890123)
			var got []string
			logAt := map[string]int{}
			opts.OnPhase = func(name string, ended *PhaseResult) {
				ev := name + " start"
				if ended != nil {
					if ended.Name != name {
						t.Errorf("ended %s reported as %s", ended.Name, name)
					}
					ev = name + " " + ended.Status
				}
				got = append(got, ev)
				logAt[ev] = len(log.String())
			}
			res, err := Run(context.Background(), load(t, tt.src), opts)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("hook saw %v, want %v", got, tt.want)
			}
			if len(res.Phases) != len(tt.want)/2 {
				t.Fatalf("result has %d phases, hook %d", len(res.Phases), len(tt.want)/2)
			}
			out := log.String()
			if i := strings.Index(out, "Entering phase INSTALL"); i < logAt["INSTALL start"] {
				t.Fatalf("the phase's log began before its start was reported:\n%s", out)
			}
			if i := strings.Index(out, "Phase complete: INSTALL"); i < 0 || i > logAt["INSTALL SUCCEEDED"] {
				t.Fatalf("the phase's end was reported before its last line:\n%s", out)
			}
			if tt.name == "succeeds" && !strings.Contains(out, "start=1234567890123") {
				t.Fatalf("CODEBUILD_START_TIME is not StartTime:\n%s", out)
			}
		})
	}
}
