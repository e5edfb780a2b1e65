package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestHealthCheckFailureRollsBack: real agents check the group's health check after
// ValidateService; when it answers 500 the deployment fails and, the group rolling back on
// failure, a rollback deployment starts (and succeeds once the check answers 200 again).
func TestHealthCheckFailureRollsBack(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	var hits atomic.Int32
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer health.Close()
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 2, api.GroupRequest{Config: "AllAtOnce", AutoRollback: api.RollbackOnFailure,
		HealthCheck: &api.GroupHealthCheck{URL: health.URL + "/health", Attempts: 3, IntervalSeconds: 1, TimeoutSeconds: 2}})
	dir := t.TempDir()
	cl, d1 := deployGroup(t, c, fleetBundle(t, filepath.Join(dir, "record"), dir, "v1"), "")
	d := waitDeployment(t, cl, d1.ID)
	if d.Status != api.DeploymentSucceeded || hits.Load() != 2 {
		t.Fatalf("d1 %s (%s) with %d health checks, want succeeded with 2", d.Status, d.Message, hits.Load())
	}
	for _, tg := range d.Targets {
		if !hasEvent(tg, "HealthCheck", "succeeded") {
			t.Fatalf("host %s has no HealthCheck event that succeeded: %+v", tg.Host, tg.Events)
		}
	}

	status.Store(http.StatusInternalServerError)
	_, d2 := deployGroup(t, c, fleetBundle(t, filepath.Join(dir, "record"), dir, "v2"), "")
	d = waitDeployment(t, cl, d2.ID)
	status.Store(http.StatusOK)
	if d.Status != api.DeploymentFailed || d.RolledBack != d2.ID+"-rollback" {
		t.Fatalf("d2 %s (rolled back by %q): %s", d.Status, d.RolledBack, d.Message)
	}
	for _, tg := range d.Targets {
		if tg.Status != "failed" || !strings.Contains(tg.Message, "HealthCheck failed") || !strings.Contains(tg.Message, "answered 500") || !hasEvent(tg, "HealthCheck", "failed") {
			t.Fatalf("host %s: %s %q", tg.Host, tg.Status, tg.Message)
		}
	}
	rb := waitDeployment(t, cl, d.RolledBack)
	if rb.RollbackOf != d2.ID || rb.Revision != d1.Revision || rb.Status != api.DeploymentSucceeded {
		t.Fatalf("rollback %s of %q to %s: %s", rb.Status, rb.RollbackOf, rb.Revision, rb.Message)
	}
	g, err := cl.GroupGet(context.Background(), "web", "fleet", nil)
	if err != nil || g.HealthCheck == nil || g.HealthCheck.ExpectedStatus != 200 || g.CurrentRevision != d1.Revision {
		t.Fatalf("group %+v %v", g, err)
	}
}

func hasEvent(tg api.DeploymentTarget, name, status string) bool {
	for _, e := range tg.Events {
		if e.Name == name && e.Script == "" && e.Status == status {
			return true
		}
	}
	return false
}
