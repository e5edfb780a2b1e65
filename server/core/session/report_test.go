package session

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
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
			ev := tc.ev
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
			if len(ev.Message) > state.MaxEventMessageLen || len(ev.Script) > state.MaxEventFieldLen {
				t.Fatalf("message %d bytes, script %d bytes after the check", len(ev.Message), len(ev.Script))
			}
			if strings.ContainsAny(ev.Message+ev.Script, "\x00\x1b\n") {
				t.Fatal("control characters left in the report")
			}
			if tc.changed == nil && ev != tc.ev {
				t.Fatalf("an event within bounds was changed: %+v", ev)
			}
		})
	}
}

type lines struct {
	mu  sync.Mutex
	got []slog.Record
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, r)
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

// TestReportWarningsAreLimited: a session's warnings about refused or cut reports are written
// at most once per interval, and the next line says how many were left out.
func TestReportWarningsAreLimited(t *testing.T) {
	h := &lines{}
	w := &reportLog{log: slog.New(h), host: "web-1", interval: 10 * time.Second}
	now := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		w.warn(now.Add(time.Duration(i)*time.Millisecond), "refused")
	}
	if len(h.got) != 1 {
		t.Fatalf("%d lines for 1,000 warnings within one interval; want 1", len(h.got))
	}
	w.warn(now.Add(11*time.Second), "refused")
	if len(h.got) != 2 {
		t.Fatalf("%d lines after the interval; want 2", len(h.got))
	}
	var suppressed int64
	h.got[1].Attrs(func(a slog.Attr) bool {
		if a.Key == "warnings_suppressed" {
			suppressed = a.Value.Int64()
		}
		return true
	})
	if suppressed != 999 {
		t.Fatalf("the line after the interval says %d warnings were suppressed; want 999", suppressed)
	}
}
