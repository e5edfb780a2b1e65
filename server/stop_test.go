package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestStopTouchesOnlyStartedHostsAndRollsBackOnRequest: on the README's group (auto-rollback
// on-failure), a stop leaves the hosts it never started healthy, so the next deployment starts,
// and a stop with --rollback rolls back. Before each stop, a user whose policy allows every
// codedeploy read and CreateDeployment but not codedeploy:StopDeployment is refused (403 naming
// the action), and the deployment goes on: still in progress, nothing stopped, no rollback.
func TestStopTouchesOnlyStartedHostsAndRollsBackOnRequest(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 4, api.GroupRequest{Config: "HalfAtATime", AutoRollback: api.RollbackOnFailure})
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	ctx := context.Background()
	cl, d1 := deployGroup(t, c, fleetBundle(t, record, dir, "v1"), "")
	if d1 = waitDeployment(t, cl, d1.ID); d1.Status != api.DeploymentSucceeded {
		t.Fatalf("v1: %s %s", d1.Status, d1.Message)
	}

	viewer := userToken(t, c, "viewer", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": ["codedeploy:Get*", "codedeploy:List*", "codedeploy:CreateDeployment"], "Resource": "*"}]}`)

	// held deploys v2 one host at a time, holding the first host in BeforeInstall, and stops it
	// (after the viewer failed to).
	held := func(round string, rollback bool) *api.Deployment {
		t.Helper()
		started, release := filepath.Join(dir, "started-"+round), filepath.Join(dir, "release-"+round)
		b := hookBundleWith(t, fleetBundle(t, record, dir, "v2"), "BeforeInstall",
			fmt.Sprintf("#!/bin/sh\ntouch %s\nwhile [ ! -e %s ]; do sleep 0.05; done\n", started, release))
		_, d := deployGroup(t, c, b, "OneAtATime")
		testutil.Eventually(t, 30*time.Second, func() error { _, err := os.Stat(started); return err })
		status, out := rawCall(t, "POST", c.URL(0)+"/v1/deployments/"+d.ID+"/stop", viewer, api.DeploymentStopRequest{Rollback: rollback})
		if status != http.StatusForbidden || !strings.Contains(out, "not allowed: codedeploy:StopDeployment") {
			t.Fatalf("stop by a user without codedeploy:StopDeployment: status %d body %s; want 403 naming the action", status, out)
		}
		got, err := cl.DeploymentGet(ctx, d.ID, &api.QueryOptions{Consistent: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range got.Targets {
			if tg.Status == "stopped" || tg.Status == "skipped" {
				t.Fatalf("after a refused stop, host %s is %s", tg.Host, tg.Status)
			}
		}
		if got.Status != api.DeploymentInProgress || got.EndTime != nil || got.RolledBack != "" {
			t.Fatalf("after a refused stop the deployment is %s (%s), rolled back by %q; want in progress", got.Status, got.Message, got.RolledBack)
		}
		stopped, err := cl.DeploymentStop(ctx, d.ID, rollback)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(release, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return stopped
	}

	d2 := held("a", false)
	if d2.Status != api.DeploymentStopped || d2.RolledBack != "" {
		t.Fatalf("stop: %s, rolled back by %q", d2.Status, d2.RolledBack)
	}
	g, err := cl.GroupGet(ctx, "web", "fleet", nil)
	if err != nil {
		t.Fatal(err)
	}
	healthy := 0
	for _, m := range g.Members {
		if m.Health == "healthy" && m.Revision == d1.Revision {
			healthy++
		}
	}
	if healthy != 3 {
		t.Fatalf("after stopping with one host started, members %+v; want 3 healthy on %s", g.Members, d1.Revision)
	}
	d3, err := cl.DeploymentCreate(ctx, api.DeploymentCreateRequest{App: "web", Revision: d1.Revision, Group: "fleet"})
	if err != nil {
		t.Fatal(err)
	}
	if d3 = waitDeployment(t, cl, d3.ID); d3.Status != api.DeploymentSucceeded {
		t.Fatalf("the deployment after the stop: %s %s", d3.Status, d3.Message)
	}

	d4 := held("b", true)
	if d4.Status != api.DeploymentStopped || d4.RolledBack == "" {
		t.Fatalf("stop --rollback on an on-failure group: %s, rolled back by %q", d4.Status, d4.RolledBack)
	}
	if rb := waitDeployment(t, cl, d4.RolledBack); rb.Status != api.DeploymentSucceeded || rb.Revision != d1.Revision {
		t.Fatalf("rollback %s of %s (want %s): %s", rb.Status, rb.Revision, d1.Revision, rb.Message)
	}
}
