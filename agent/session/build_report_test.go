package session

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// TestBuildLogLinesPhasesMaskAndBound: lines are cut at newlines (a line split across writes is
// one line), carry the phase set when they completed, have secret values masked even when split
// across writes, and stop after the bound with one line saying so.
func TestBuildLogLinesPhasesMaskAndBound(t *testing.T) {
	out, err := OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = out.Close() }()
	l := newBuildLog(NewKindReporter(out, agentproto.KindBuild), "web:1")
	l.max = 2000
	l.SetPhase("INSTALL")
	_, _ = l.Write([]byte("one\ntw"))
	_, _ = l.Write([]byte("o\r\n"))
	l.Mask([]string{"s3cr3t-value"})
	l.SetPhase("BUILD")
	_, _ = l.Write([]byte("token=s3cr"))
	_, _ = l.Write([]byte("3t-value end\n"))
	_, _ = l.Write([]byte("Phase complete: BUILD\n"))
	l.SetPhase("POST_BUILD")
	_, _ = l.Write([]byte("echo\n"))
	l.max = l.sent + 200
	for i := 0; i < 20; i++ {
		_, _ = fmt.Fprintf(l, "line %02d of some length\n", i)
	}
	// The builder's last line of a phase, then the next phase: the line held back by the mask
	// is the phase's, not the next one's.
	l.SetPhase("POST_BUILD")
	_, _ = l.Write([]byte("Phase complete: BUILD\n"))
	l.SetPhase("UPLOAD_ARTIFACTS")
	_, _ = l.Write([]byte("no newline"))
	l.Close()
	l.rep.flushAll()
	var lines []agentproto.LogLine
	for _, raw := range out.Pending(map[string]uint64{})[buildKey("web:1")] {
		var env agentproto.Envelope
		_ = json.Unmarshal(raw, &env)
		var lg agentproto.Log
		_ = json.Unmarshal(env.Body, &lg)
		if lg.Kind != agentproto.KindBuild {
			t.Fatalf("log of kind %q", lg.Kind)
		}
		lines = append(lines, lg.Lines...)
	}
	var got []string
	for _, ln := range lines {
		got = append(got, ln.Event+"|"+ln.Text)
		if ln.Stream != "stdout" {
			t.Fatalf("stream %q", ln.Stream)
		}
	}
	all := strings.Join(got, "\n")
	if !strings.HasPrefix(all, "INSTALL|one\nINSTALL|two\nBUILD|token=*** end\nBUILD|Phase complete: BUILD\nPOST_BUILD|echo\nPOST_BUILD|line 00") || strings.Contains(all, "s3cr") {
		t.Fatalf("lines:\n%s", all)
	}
	if !strings.Contains(all, "the log is cut here") || strings.Contains(all, "line 19") || strings.Contains(all, "no newline") {
		t.Fatalf("the log was not cut at its bound:\n%s", all)
	}
}
