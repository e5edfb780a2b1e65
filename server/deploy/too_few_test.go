package deploy

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// TestTooFewHealthyNamesHostsAndWayOut: a deployment refused for too few healthy hosts says which
// hosts are unhealthy (at most ten, then how many more) and how to get past it.
func TestTooFewHealthyNamesHostsAndWayOut(t *testing.T) {
	f := groupFSM(t, 13, RollbackOff)
	// Every host fails r2.
	d := f.create("d1", "r2", "AllAtOnce")
	for h := range d.Targets {
		f.report("d1", h, 1, agentproto.DeploymentEnd, agentproto.StatusFailed)
	}
	if d := f.deployment("d1"); d.Status != DeploymentFailed {
		t.Fatalf("d1 %s", d.Status)
	}
	d = f.create("dx", "r2", "HalfAtATime")
	if d.Status != DeploymentFailed {
		t.Fatalf("deployment with every host unhealthy: %s", d.Status)
	}
	for _, want := range []string{"too few healthy hosts", "13 unhealthy hosts", ": host-1, host-10, host-11, host-12, host-13, host-2, host-3, host-4, host-5, host-6 and 3 more.", "--config AllAtOnce", "Fix what broke them"} {
		if !strings.Contains(d.Message, want) {
			t.Errorf("message %q lacks %q", d.Message, want)
		}
	}
}
