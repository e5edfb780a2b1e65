package deploy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/fault"
)

func TestCheckEvent(t *testing.T) {
	ok := agentproto.Event{DeploymentID: "d-0123456789abcdef01", Seq: 1, Event: "AfterInstall", Status: agentproto.StatusFailed,
		Script: "scripts/migrate.sh", Result: agentproto.ResultFailed, ExitCode: 3, Message: "exit status 3", Time: time.Unix(1, 0)}
	with := func(f func(*agentproto.Event)) agentproto.Event { ev := ok; f(&ev); return ev }
	huge := "\x1b[31m" + strings.Repeat("m", 1<<20) + "\n"
	cases := []struct {
		name    string
		ev      agentproto.Event
		refused string   // part of the refusal; "" when accepted
		changed []string // fields cut or cleaned
	}{
		{"a script's result", ok, "", nil},
		{"the deployment's end", with(func(e *agentproto.Event) { e.Event, e.Script = agentproto.DeploymentEnd, "" }), "", nil},
		{"1 MiB message with escapes", with(func(e *agentproto.Event) { e.Message = huge }), "", []string{"message"}},
		{"long script path and control characters", with(func(e *agentproto.Event) { e.Script = "a\x00" + strings.Repeat("b", 300) }), "", []string{"script"}},
		{"unknown event", with(func(e *agentproto.Event) { e.Event = "Pwn\x1b[2J" + strings.Repeat("x", 1000) }), "not a lifecycle event", nil},
		{"unknown status", with(func(e *agentproto.Event) { e.Status = "owned" }), "want started, succeeded, failed or skipped", nil},
		{"hostile deployment id", with(func(e *agentproto.Event) { e.DeploymentID = "../../x\x1b[31m" }), "deployment name", nil},
		{"no deployment id", with(func(e *agentproto.Event) { e.DeploymentID = "" }), "deployment name is empty", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := eventRecord(tc.ev)
			changed, err := checkEvent(&ev)
			if tc.refused != "" {
				if fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("error %v; want a refusal saying %q", err, tc.refused)
				}
				if len(err.Error()) > 400 {
					t.Fatalf("the refusal echoes the hostile value: %d bytes", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if strings.Join(changed, ",") != strings.Join(tc.changed, ",") {
				t.Fatalf("changed %v; want %v", changed, tc.changed)
			}
			if len(ev.Message) > MaxEventMessageLen || len(ev.Script) > MaxEventFieldLen {
				t.Fatalf("message %d bytes, script %d bytes after the check", len(ev.Message), len(ev.Script))
			}
			if strings.ContainsAny(ev.Message+ev.Script, "\x00\x1b\n") {
				t.Fatal("control characters left in the report")
			}
			if tc.changed == nil && ev != eventRecord(tc.ev) {
				t.Fatalf("an event within bounds was changed: %+v", ev)
			}
		})
	}
}

// TestCheckRefusesAndWarns: the agent work's Check drops a malformed message silently, refuses
// one the protocol does not allow with a warning, and hands on a good one as the service's own
// record.
func TestCheckRefusesAndWarns(t *testing.T) {
	var warned []string
	warn := func(msg string, _ ...any) { warned = append(warned, msg) }
	w := agentWork{}
	if _, ok := w.Check(agentproto.TypeEvent, json.RawMessage(`{"seq":`), warn); ok || len(warned) != 0 {
		t.Fatalf("a malformed event: accepted %v, warnings %v", ok, warned)
	}
	bad, _ := json.Marshal(agentproto.Event{DeploymentID: "d-1", Seq: 1, Event: "Pwn", Status: agentproto.StatusStarted})
	if _, ok := w.Check(agentproto.TypeEvent, bad, warn); ok || len(warned) != 1 || !strings.Contains(warned[0], "refused") {
		t.Fatalf("an unknown event: accepted %v, warnings %v", ok, warned)
	}
	good, _ := json.Marshal(agentproto.Log{DeploymentID: "d-1", Seq: 2, Lines: []agentproto.LogLine{{Text: "hi", Time: time.Unix(1, 0)}}})
	got, ok := w.Check(agentproto.TypeLog, good, warn)
	if l, isLog := got.(ReportLog); !ok || !isLog || l.Seq != 2 || l.Lines[0].Text != "hi" {
		t.Fatalf("a good log: %#v, %v", got, ok)
	}
	badLog, _ := json.Marshal(agentproto.Log{DeploymentID: "../x", Seq: 3})
	if _, ok := w.Check(agentproto.TypeLog, badLog, warn); ok || len(warned) != 2 {
		t.Fatalf("a log of a hostile deployment ID: accepted %v, warnings %v", ok, warned)
	}
}
