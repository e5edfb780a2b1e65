package build

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

func raw(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheck: Check refuses what the protocol never sends and cuts what is out of bounds.
func TestCheck(t *testing.T) {
	w := agentWork{}
	var warned []string
	warn := func(msg string, _ ...any) { warned = append(warned, msg) }
	id := start("web", 1).ID
	for _, tc := range []struct {
		what string
		typ  string
		body any
	}{
		{"not a build ID", agentproto.TypeEvent, agentproto.Event{Kind: "build", DeploymentID: "d-123", Seq: 1, Event: "BUILD", Status: agentproto.StatusStarted}},
		{"not a phase", agentproto.TypeEvent, agentproto.Event{Kind: "build", DeploymentID: id, Seq: 1, Event: "ApplicationStart", Status: agentproto.StatusStarted}},
		{"a status the protocol has not", agentproto.TypeEvent, agentproto.Event{Kind: "build", DeploymentID: id, Seq: 1, Event: "BUILD", Status: agentproto.StatusSkipped}},
		{"a log of no build", agentproto.TypeLog, agentproto.Log{Kind: "build", DeploymentID: "x", Seq: 1}},
	} {
		warned = nil
		if _, ok := w.Check(tc.typ, raw(t, tc.body), warn); ok || len(warned) != 1 {
			t.Errorf("%s: accepted, or warned %v", tc.what, warned)
		}
	}
	if _, ok := w.Check(agentproto.TypeEvent, json.RawMessage(`{"seq": "x"`), warn); ok {
		t.Error("a malformed message was accepted")
	}

	warned = nil
	long := strings.Repeat("é", 10<<10)
	body, ok := w.Check(agentproto.TypeEvent, raw(t, agentproto.Event{Kind: "build", DeploymentID: id, Seq: 2, Event: agentproto.BuildEnd,
		Status: agentproto.StatusSucceeded, Message: long, Build: &agentproto.BuildOutcome{Status: pub.BuildSucceeded,
			Artifacts: make([]agentproto.BuildArtifact, MaxArtifacts+1), Reports: []agentproto.BuildReport{{Name: "unit", Cases: make([]agentproto.BuildTestCase, MaxReportCases+3)}}}}), warn)
	ce, isEvent := body.(checkedEvent)
	if !ok || !isEvent || len(warned) != 1 || len(ce.ev.Message) > maxEventText || ce.ev.Outcome == nil || len(ce.ev.Outcome.Artifacts) != 0 ||
		len(ce.ev.Outcome.Reports[0].Cases) != MaxReportCases || !ce.ev.Outcome.Reports[0].Truncated || ce.ev.Outcome.Reports[0].Cases[0].Status != "UNKNOWN" {
		t.Fatalf("an end out of bounds: ok %v, warned %v, %+v", ok, warned, ce.ev.Outcome)
	}
	lines := make([]agentproto.LogLine, MaxLogLinesPerReport+10)
	lines[0] = agentproto.LogLine{Event: "BUILD", Text: strings.Repeat("x", agentproto.MaxLineBytes+1)}
	body, ok = w.Check(agentproto.TypeLog, raw(t, agentproto.Log{Kind: "build", DeploymentID: id, Seq: 3, Lines: lines}), warn)
	cl, isLog := body.(checkedLog)
	if !ok || !isLog || len(cl.l.Lines) != MaxLogLinesPerReport || len(cl.l.Lines[0].Text) != agentproto.MaxLineBytes || cl.l.Lines[0].Phase != "BUILD" {
		t.Fatalf("a log out of bounds: ok %v, %d lines", ok, len(cl.l.Lines))
	}
}

// TestDispatch: Pending, Active and Start over the state: the assigned host runs the build until
// a stop is requested (then it is neither pending nor active: the hub cancels it); the run
// carries the record's settings and the agent routes, no secret value.
func TestDispatch(t *testing.T) {
	r := newRunFSM(t)
	id := running(t, r)
	w := agentWork{}
	view := func(f func(tx *state.Tx)) { _ = r.f.Store().View(func(tx *state.Tx) error { f(tx); return nil }) }
	view(func(tx *state.Tx) {
		if p := w.Pending(tx, "builder"); len(p) != 1 || p[0] != id || !w.Active(tx, "builder", id) || w.Active(tx, "other", id) || len(w.Pending(tx, "other")) != 0 {
			t.Fatalf("pending %v", p)
		}
		typ, body, err := w.Start(tx, id)
		run, isRun := body.(agentproto.BuildRun)
		if err != nil || typ != agentproto.TypeRun || !isRun || run.Kind != agentproto.KindBuild || run.DeploymentID != id || run.Number != 1 ||
			run.Source.Path != "/v1/agent/builds/web:00000000-0000-4000-8000-000000000001/source" || run.ResolvedSourceVersion != commit1 ||
			run.SecretsPath != AgentPath(id, "secrets") || run.TimeoutMinutes != 60 {
			t.Fatalf("start: %s %+v %v", typ, body, err)
		}
		if w.Active(tx, "builder", "d-123") {
			t.Fatal("a deployment's ID is an active build")
		}
	})
	ok(t, "stop", do(r, cmdStop, StopPayload{ID: id, Actor: "ana"}))
	view(func(tx *state.Tx) {
		if p := w.Pending(tx, "builder"); len(p) != 0 || w.Active(tx, "builder", id) {
			t.Fatalf("a stopped build is pending %v or active", p)
		}
	})
}

// TestDueRunning: the leader's sweep of builds in progress: nothing while the agent is heard
// from; FAULT once it is silent for the host timeout (counted from the leadership's start when
// that is later); TIMED_OUT past the running deadline; STOPPED when a stop is not confirmed in
// time.
func TestDueRunning(t *testing.T) {
	r := newRunFSM(t)
	id := running(t, r)
	m := &Module{core: &module.Core{State: r.f.Store()}}
	var seen time.Time
	var b Build
	_ = r.f.Store().View(func(tx *state.Tx) error {
		h, _ := tx.GetHost("builder")
		seen = h.LastSeen
		b, _, _ = getBuild(tx, id)
		return nil
	})
	due := func(now, since time.Time, stops map[string]time.Time) string {
		var out []string
		for _, f := range m.dueRunning(now, since, time.Minute, stops) {
			out = append(out, f.Status+" "+f.Host+" "+f.Reason)
		}
		return strings.Join(out, "; ")
	}
	stops := map[string]time.Time{}
	if got := due(seen.Add(59*time.Second), seen, stops); got != "" {
		t.Fatalf("due while heard from: %s", got)
	}
	if got := due(seen.Add(61*time.Second), seen, stops); !strings.HasPrefix(got, "FAULT builder agent on host builder was not heard from for 1m0s") {
		t.Fatalf("a silent agent: %q", got)
	}
	if got := due(seen.Add(61*time.Second), seen.Add(30*time.Second), stops); got != "" {
		t.Fatalf("a new leadership gives a full bound: %q", got)
	}
	deadline := b.RunningDeadline()
	if got := due(deadline, deadline, stops); !strings.HasPrefix(got, "TIMED_OUT builder the build ran past its timeout of 60 minutes") {
		t.Fatalf("past the deadline: %q", got)
	}
	// The host's agent comes back without the build capability.
	ok(t, "status", do(r, command.HostStatusCmd, command.HostStatus{HostID: "builder", Server: "s1", Online: true, Capabilities: []string{agentproto.KindDeploy}}))
	if got := due(seen.Add(10*time.Second), seen, stops); !strings.HasPrefix(got, "FAULT builder the agent on host builder no longer takes builds") {
		t.Fatalf("an agent without builds: %q", got)
	}
	ok(t, "status", do(r, command.HostStatusCmd, command.HostStatus{HostID: "builder", Server: "s1", Online: true, Capabilities: []string{agentproto.KindBuild}}))
	ok(t, "stop", do(r, cmdStop, StopPayload{ID: id, Actor: "ana"}))
	at := seen.Add(10 * time.Second)
	if got := due(at, at, stops); got != "" || stops[id].IsZero() {
		t.Fatalf("a stop just noticed: %q, %v", got, stops)
	}
	later := at.Add(time.Minute + TimeoutGrace + time.Second)
	if got := due(later, later, stops); !strings.HasPrefix(got, "STOPPED builder stopped; the agent on host builder did not confirm") {
		t.Fatalf("an unconfirmed stop: %q", got)
	}
}
