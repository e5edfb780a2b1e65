package deploy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// groupFSM sets up app web with revisions r1 and r2, hosts host-1..host-n, and group g of all of
// them (OneAtATime, auto-rollback as given) on which r1 was deployed successfully (deployment d0).
func groupFSM(t *testing.T, n int, autoRollback string) *testFSM {
	t.Helper()
	f := newFSM(t)
	f.setUp()
	blob := strings.Repeat("c", 64)
	for _, c := range []struct {
		typ command.Type
		p   any
	}{
		{30, map[string]any{"sha256": blob, "size": 1}},
		{40, map[string]any{"id": "r2", "app": "web", "sha256": blob, "size": 1, "format": "tar"}},
	} {
		if r := f.apply(legacy(c.typ, c.p)); r.Code != "" {
			t.Fatalf("%s: %s %s", c.typ, r.Code, r.Message)
		}
	}
	names := []string{"host-1"}
	for i := 2; i <= n; i++ {
		p := map[string]any{"host_id": fmt.Sprintf("h%d", i), "secret_hash": fmt.Sprintf("%064d", i), "name": fmt.Sprintf("host-%d", i), "token_accessor": "tok"}
		if r := f.apply(legacy(51, p)); r.Code != "" {
			t.Fatalf("host %d: %+v", i, r)
		}
		names = append(names, fmt.Sprintf("host-%d", i))
	}
	if r := f.apply(CmdGroupPut.New("", testTime, GroupPutPayload{Create: true, ID: "g-id", App: "web", Name: "g", Hosts: names, Config: "OneAtATime", AutoRollback: autoRollback})); r.Code != "" {
		t.Fatalf("group: %+v", r)
	}
	f.create("d0", "r1", "")
	for i := 0; i < n; i++ {
		for id, tg := range f.deployment("d0").Targets {
			if tg.Status == TargetPending {
				f.report("d0", id, 1, agentproto.DeploymentEnd, agentproto.StatusSucceeded)
			}
		}
	}
	if d := f.deployment("d0"); d.Status != DeploymentSucceeded {
		t.Fatalf("d0 %s: %s", d.Status, d.Message)
	}
	return f
}

func (tf *testFSM) create(id, rev, config string) Deployment {
	tf.t.Helper()
	if r := tf.apply(cmdDeploymentCreate.New("", testTime, DeploymentCreate{ID: id, App: "web", RevisionID: rev, Group: "g", Config: config})); r.Code != "" {
		tf.t.Fatalf("create %s: %+v", id, r)
	}
	return tf.deployment(id)
}

func (tf *testFSM) report(dep, host string, seq uint64, event string, status agentproto.Status) {
	tf.t.Helper()
	ev := agentproto.Event{DeploymentID: dep, Seq: seq, Event: event, Status: status}
	if r := tf.apply(cmdDeploymentReport.New("", testTime, DeploymentReport{DeploymentID: dep, HostID: host, Events: records(ev)})); r.Code != "" {
		tf.t.Fatalf("report: %+v", r)
	}
}

// webG reads group web/g, the one these tests deploy to.
func (tf *testFSM) webG() Group {
	tf.t.Helper()
	return tf.group("web", "g")
}

// pendingHost is the one host a OneAtATime deployment has started.
func pendingHost(t *testing.T, d Deployment) string {
	t.Helper()
	var out []string
	for id, tg := range d.Targets {
		if tg.Status == TargetPending {
			out = append(out, id)
		}
	}
	if len(out) != 1 {
		t.Fatalf("pending hosts %v, want one", out)
	}
	return out[0]
}

// TestStopWithRollbackAlwaysRollsBack: a stop that asks for a rollback rolls back whatever the
// group's auto-rollback setting (CodeDeploy's StopDeployment with autoRollbackEnabled).
func TestStopWithRollbackAlwaysRollsBack(t *testing.T) {
	for _, setting := range []string{RollbackOff, RollbackOnFailure, RollbackOnStop} {
		t.Run(setting, func(t *testing.T) {
			f := groupFSM(t, 3, setting)
			d := f.create("d1", "r2", "")
			f.report("d1", pendingHost(t, d), 1, "ApplicationStop", agentproto.StatusStarted)
			if r := f.apply(cmdDeploymentStop.New("", testTime, DeploymentStop{DeploymentID: "d1", Rollback: true})); r.Code != "" {
				t.Fatalf("stop: %+v", r)
			}
			d = f.deployment("d1")
			if d.Status != DeploymentStopped || d.RolledBackBy != "d1-rollback" {
				t.Fatalf("stopped deployment %s, rolled back by %q (message %q), want a rollback", d.Status, d.RolledBackBy, d.Message)
			}
			rb := f.deployment("d1-rollback")
			if rb.RevisionID != "r1" || rb.RollbackOf != "d1" || rb.Status != DeploymentInProgress {
				t.Fatalf("rollback %+v", rb)
			}
		})
	}
}

// TestStopWithoutRollbackFollowsTheGroup: a stop without --rollback rolls back only on a group
// set to on-stop.
func TestStopWithoutRollbackFollowsTheGroup(t *testing.T) {
	for setting, want := range map[string]bool{RollbackOff: false, RollbackOnFailure: false, RollbackOnStop: true} {
		f := groupFSM(t, 2, setting)
		f.create("d1", "r2", "")
		if r := f.apply(cmdDeploymentStop.New("", testTime, DeploymentStop{DeploymentID: "d1"})); r.Code != "" {
			t.Fatalf("stop: %+v", r)
		}
		if got := f.deployment("d1").RolledBackBy != ""; got != want {
			t.Fatalf("%s: rolled back %v, want %v", setting, got, want)
		}
	}
}

// stopV1 is a deployment.stop entry as schema version 1 wrote it (such entries are in logs).
func stopV1(p DeploymentStop) (*command.Command, error) {
	c, err := cmdDeploymentStop.New("", testTime, p)
	if err == nil {
		c.Version = 1
	}
	return c, err
}

// TestStopVersion1AppliesAsBefore: a version 1 deployment.stop already in a log applies as it
// did when it was written: on an on-failure group its rollback request starts no rollback, and
// every host it did not finish is unhealthy afterwards.
func TestStopVersion1AppliesAsBefore(t *testing.T) {
	f := groupFSM(t, 3, RollbackOnFailure)
	f.create("d1", "r2", "")
	if r := f.apply(stopV1(DeploymentStop{DeploymentID: "d1", Rollback: true})); r.Code != "" {
		t.Fatalf("stop: %+v", r)
	}
	if d := f.deployment("d1"); d.Status != DeploymentStopped || d.RolledBackBy != "" {
		t.Fatalf("version 1 stop: %s, rolled back by %q", d.Status, d.RolledBackBy)
	}
	for id, m := range f.webG().Members {
		if m.Health != "unhealthy" {
			t.Errorf("member %s is %+v, want unhealthy as version 1 left it", id, m)
		}
	}

	// On a group with rollback off, version 1 rolled back.
	f = groupFSM(t, 2, RollbackOff)
	f.create("d1", "r2", "")
	if r := f.apply(stopV1(DeploymentStop{DeploymentID: "d1", Rollback: true})); r.Code != "" {
		t.Fatalf("stop: %+v", r)
	}
	if d := f.deployment("d1"); d.RolledBackBy != "d1-rollback" {
		t.Fatalf("version 1 stop on a group with rollback off: rolled back by %q", d.RolledBackBy)
	}
}

// TestStopSkipsWaitingHosts: a stop of a OneAtATime group deployment with one host running
// marks that host stopped (by the user, with an end time) and the hosts still waiting skipped,
// never stopped; the deployment is stopped, and on an on-failure group it does not roll back.
func TestStopSkipsWaitingHosts(t *testing.T) {
	f := groupFSM(t, 3, RollbackOnFailure)
	running := pendingHost(t, f.create("d1", "r2", ""))
	f.report("d1", running, 1, "ApplicationStop", agentproto.StatusStarted)
	if r := f.apply(cmdDeploymentStop.New("", testTime, DeploymentStop{DeploymentID: "d1"})); r.Code != "" {
		t.Fatalf("stop: %+v", r)
	}
	d := f.deployment("d1")
	if d.Status != DeploymentStopped || d.EndTime == nil || d.RolledBackBy != "" {
		t.Fatalf("deployment %s (ended %v), rolled back by %q; want stopped, no rollback", d.Status, d.EndTime, d.RolledBackBy)
	}
	if len(d.Targets) != 3 {
		t.Fatalf("targets %d, want 3", len(d.Targets))
	}
	for id, tg := range d.Targets {
		if id == running {
			if tg.Status != TargetStopped || tg.Message != "stopped by the user" || tg.EndTime == nil {
				t.Errorf("running host %s: %s %q (end %v), want stopped by the user", id, tg.Status, tg.Message, tg.EndTime)
			}
			continue
		}
		if tg.Status != TargetSkipped || tg.EndTime != nil || tg.Message != "" {
			t.Errorf("waiting host %s: %s %q (end %v), want skipped", id, tg.Status, tg.Message, tg.EndTime)
		}
	}
}

// TestStopOfEndedDeploymentRefused: stopping a deployment that already ended (succeeded, or
// stopped before) is a conflict that names its status, and changes nothing: not its status, not
// its end, not the group, and no rollback starts. An unknown deployment is not found.
func TestStopOfEndedDeploymentRefused(t *testing.T) {
	f := groupFSM(t, 2, RollbackOnStop)
	f.create("d1", "r2", "")
	if r := f.apply(cmdDeploymentStop.New("", testTime, DeploymentStop{DeploymentID: "d1"})); r.Code != "" {
		t.Fatalf("stop: %+v", r)
	}
	// d1-rollback is running now; its stop below must not start another.
	for _, tc := range []struct{ id, status string }{{"d0", DeploymentSucceeded}, {"d1", DeploymentStopped}} {
		before, g := f.deployment(tc.id), f.webG()
		r := f.apply(cmdDeploymentStop.New("", testTime.Add(time.Hour), DeploymentStop{DeploymentID: tc.id, Rollback: true}))
		if r.Code != string(fault.Conflict) || !strings.Contains(r.Message, "already ended ("+tc.status+")") {
			t.Errorf("stop of %s (%s): %q %q, want a conflict saying it already ended", tc.id, tc.status, r.Code, r.Message)
		}
		after := f.deployment(tc.id)
		if after.Status != tc.status || !after.EndTime.Equal(*before.EndTime) || after.RolledBackBy != before.RolledBackBy || after.ModifyIndex != before.ModifyIndex {
			t.Errorf("%s after a refused stop: %s, end %v, rolled back by %q, modify index %d; before %s, %v, %q, %d", tc.id,
				after.Status, after.EndTime, after.RolledBackBy, after.ModifyIndex, before.Status, before.EndTime, before.RolledBackBy, before.ModifyIndex)
		}
		if ga := f.webG(); ga.CurrentRevision != g.CurrentRevision || ga.ActiveDeployment != g.ActiveDeployment || ga.ModifyIndex != g.ModifyIndex {
			t.Errorf("group after a refused stop of %s: %+v; before %+v", tc.id, ga, g)
		}
	}
	if r := f.apply(cmdDeploymentStop.New("", testTime, DeploymentStop{DeploymentID: "d-nowhere"})); r.Code != string(fault.NotFound) {
		t.Errorf("stop of an unknown deployment: %q %q, want not found", r.Code, r.Message)
	}
}
