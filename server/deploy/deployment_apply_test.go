package deploy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// TestReportsApplyInOrderOnce: reports are applied once each, in sequence; one that arrives
// after a gap waits (it is not acknowledged) until the missing one has been applied.
func TestReportsApplyInOrderOnce(t *testing.T) {
	f := newFSM(t)
	f.setUp()
	if r := f.apply(cmdDeploymentCreate.New("", testTime, DeploymentCreate{ID: "d1", App: "web", RevisionID: "r1", HostIDs: []string{"h1"}})); r.Code != "" {
		t.Fatalf("create: %+v", r)
	}
	ev := func(seq uint64, name string) agentproto.Event {
		return agentproto.Event{DeploymentID: "d1", Seq: seq, Event: name, Status: agentproto.StatusStarted}
	}
	report := func(p DeploymentReport) command.Result {
		t.Helper()
		return f.apply(cmdDeploymentReport.New("", testTime, p))
	}
	ack := func(r command.Result) uint64 {
		var a agentproto.Ack
		if err := json.Unmarshal(r.Data, &a); err != nil {
			t.Fatalf("ack %+v: %v", r, err)
		}
		return a.Seq
	}
	if got := ack(report(DeploymentReport{DeploymentID: "d1", HostID: "h1", Events: records(ev(2, "B"))})); got != 0 {
		t.Fatalf("report 2 before 1 acknowledged up to %d, want 0", got)
	}
	if got := ack(report(DeploymentReport{DeploymentID: "d1", HostID: "h1", Events: records(ev(1, "A"), ev(2, "B"))})); got != 2 {
		t.Fatalf("reports 1-2 acknowledged up to %d", got)
	}
	if got := ack(report(DeploymentReport{DeploymentID: "d1", HostID: "h1", Events: records(ev(1, "A"), ev(2, "B"))})); got != 2 {
		t.Fatalf("resend acknowledged up to %d", got)
	}
	d := f.deployment("d1")
	if evs := d.Targets["h1"].Events; len(evs) != 2 || evs[0].Name != "A" || evs[1].Name != "B" {
		t.Fatalf("events %+v, want A then B once each", evs)
	}

	// The host goes silent and is failed; its late reports (a success among them) are
	// acknowledged in full, so its outbox drains, and change nothing.
	if r := f.apply(cmdDeploymentFailHost.New("", testTime, DeploymentFailHost{DeploymentID: "d1", HostID: "h1", Reason: "not heard from"})); r.Code != "" {
		t.Fatalf("fail host: %+v", r)
	}
	failed := f.deployment("d1")
	end := agentproto.Event{DeploymentID: "d1", Seq: 4, Event: agentproto.DeploymentEnd, Status: agentproto.StatusSucceeded}
	late := DeploymentReport{DeploymentID: "d1", HostID: "h1", Events: records(ev(3, "C"), end)}
	if got := ack(report(late)); got != 4 {
		t.Fatalf("late report 3-4 after the host was failed acknowledged up to %d, want 4", got)
	}
	after := f.deployment("d1")
	if after.ModifyIndex != failed.ModifyIndex || after.Targets["h1"].Status != TargetFailed || len(after.Targets["h1"].Events) != 2 {
		t.Fatalf("a late report changed the deployment: modify index %d -> %d, host %s with %d events",
			failed.ModifyIndex, after.ModifyIndex, after.Targets["h1"].Status, len(after.Targets["h1"].Events))
	}
}

// TestHostDeleteWaitsForDeployments: a host.delete is refused while a deployment that has not
// finished runs on the host (the service's check in the core's host.delete), and applies once
// the host's part is over.
func TestHostDeleteWaitsForDeployments(t *testing.T) {
	f := newFSM(t)
	f.setUp()
	if r := f.apply(cmdDeploymentCreate.New("", testTime, DeploymentCreate{ID: "d1", App: "web", RevisionID: "r1", HostIDs: []string{"h1"}})); r.Code != "" {
		t.Fatalf("create: %+v", r)
	}
	r := f.apply(legacy(52, map[string]any{"host_id": "h1"}))
	if r.Code != string(fault.Conflict) || !strings.Contains(r.Message, "host is in deployment d1, which has not finished") {
		t.Fatalf("delete of a busy host: %+v", r)
	}
	if r := f.apply(cmdDeploymentFailHost.New("", testTime, DeploymentFailHost{DeploymentID: "d1", HostID: "h1", Reason: "gone"})); r.Code != "" {
		t.Fatalf("fail host: %+v", r)
	}
	if r := f.apply(legacy(52, map[string]any{"host_id": "h1"})); r.Code != "" {
		t.Fatalf("delete once the deployment ended there: %+v", r)
	}
}
