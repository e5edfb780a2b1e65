//go:build unix

package lifecycle

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// TestHealthCheckAfterValidateService: with Run.HealthCheck the agent GETs the URL after
// ValidateService, reported as a HealthCheck event; a 200 passes, a 500 after every attempt fails
// the deployment, and a redirect is not followed.
func TestHealthCheckAfterValidateService(t *testing.T) {
	var status atomic.Int32
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/health", http.StatusFound)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name     string
		path     string
		status   int
		want     agentproto.Status
		hits     int32
		inReason string
	}{
		{"passes", "/health", 200, agentproto.StatusSucceeded, 1, ""},
		{"fails after every attempt", "/health", 500, agentproto.StatusFailed, 3, "answered 500, want 200"},
		{"does not follow redirects", "/redirect", 200, agentproto.StatusFailed, 3, "answered 302"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int32(tc.status))
			hits.Store(0)
			e := newEnv(t, Config{})
			rev := e.revision("r1", map[string]string{"appspec.yml": specYAML(e.dest, allHooks()), "scripts/hook.sh": traceScript(e.trace, "r1"), "app/a.txt": "a"})
			hc := &agentproto.HealthCheck{URL: srv.URL + tc.path, ExpectedStatus: 200, Timeout: 5 * time.Second, Attempts: 3, Interval: 10 * time.Millisecond}
			st := e.runner.Run(context.Background(), agentproto.Run{DeploymentID: "d1", App: "shop", Group: "web", GroupID: "g1", Revision: rev, HealthCheck: hc}, e.fetcher, e.rec)
			if st != tc.want {
				t.Fatalf("deployment %s, want %s: %+v", st, tc.want, e.rec.end(t, "d1"))
			}
			if n := hits.Load(); n != tc.hits {
				t.Fatalf("%d requests, want %d", n, tc.hits)
			}
			var seq []string
			for _, ev := range e.rec.all() {
				if ev.Script == "" && (ev.Event == "ValidateService" || ev.Event == agentproto.HealthCheckEvent || ev.Event == "AllowTraffic") {
					seq = append(seq, ev.Event+":"+string(ev.Status))
				}
			}
			want := []string{"ValidateService:started", "ValidateService:succeeded", "HealthCheck:started", "HealthCheck:" + string(tc.want)}
			if tc.want == agentproto.StatusSucceeded {
				want = append(want, "AllowTraffic:skipped")
			}
			if !slices.Equal(seq, want) {
				t.Fatalf("events %q, want %q", seq, want)
			}
			if end := e.rec.end(t, "d1"); !strings.Contains(end.Message, tc.inReason) {
				t.Fatalf("end message %q does not say %q", end.Message, tc.inReason)
			}
		})
	}
}
