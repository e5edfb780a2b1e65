package deploy

import (
	"testing"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// TestStopKeepsUntouchedHostsHealthy: a stop marks unhealthy only the hosts the deployment
// touched; hosts still waiting, or scheduled but silent (no lifecycle event), keep their health
// and revision, so the next deployment can start.
func TestStopKeepsUntouchedHostsHealthy(t *testing.T) {
	f := groupFSM(t, 3, RollbackOff)
	d := f.create("d1", "r2", "")
	touched := pendingHost(t, d)
	f.report("d1", touched, 1, "ApplicationStop", agentproto.StatusStarted)
	f.report("d1", touched, 2, "ApplicationStop", agentproto.StatusSucceeded)
	// The next host is scheduled (the first succeeded) but sends nothing before the stop.
	f.report("d1", touched, 3, agentproto.DeploymentEnd, agentproto.StatusSucceeded)
	silent := pendingHost(t, f.deployment("d1"))
	if r := f.apply(cmdDeploymentStop.New("", testTime, DeploymentStop{DeploymentID: "d1"})); r.Code != "" {
		t.Fatalf("stop: %+v", r)
	}
	g := f.webG()
	for id, m := range g.Members {
		want := Member{Health: "healthy", Revision: "r1"}
		if id == touched {
			want.Revision = "r2"
		}
		if m != want {
			t.Errorf("member %s (silent %v) is %+v, want %+v", id, id == silent, m, want)
		}
	}
	if t.Failed() {
		return
	}
	if d2 := f.create("d2", "r2", ""); d2.Status != DeploymentInProgress {
		t.Fatalf("the next deployment %s: %s", d2.Status, d2.Message)
	}
}

// TestStopMarksStartedHostUnhealthy: a host stopped mid-way (it had sent a lifecycle event) is
// unhealthy afterwards, as before.
func TestStopMarksStartedHostUnhealthy(t *testing.T) {
	f := groupFSM(t, 3, RollbackOff)
	touched := pendingHost(t, f.create("d1", "r2", ""))
	f.report("d1", touched, 1, "ApplicationStop", agentproto.StatusStarted)
	if r := f.apply(cmdDeploymentStop.New("", testTime, DeploymentStop{DeploymentID: "d1"})); r.Code != "" {
		t.Fatalf("stop: %+v", r)
	}
	for id, m := range f.webG().Members {
		want := Member{Health: "healthy", Revision: "r1"}
		if id == touched {
			want.Health = "unhealthy"
		}
		if m != want {
			t.Errorf("member %s is %+v, want %+v", id, m, want)
		}
	}
}
