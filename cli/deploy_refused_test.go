package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestDeployCreateRefusedAtOnce: a deployment the cluster refused as it was created (too few
// healthy hosts) is not reported as created: the command says why and exits 1, with and without
// --output json, so a script does not take a refusal for a start.
func TestDeployCreateRefusedAtOnce(t *testing.T) {
	const reason = "too few healthy hosts: 0 healthy hosts at start (of 3)"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/deployments" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(api.Deployment{ID: "d-1", App: "web", Group: "prod", Status: api.DeploymentFailed, Message: reason})
	}))
	t.Cleanup(srv.Close)
	args := []string{"--addr", srv.URL, "--token", testToken, "deploy", "create", "--app", "web", "--group", "prod", "--revision", "r-1"}

	res := runWith(t, t.Context(), nil, args...)
	if res.code != ExitFailure {
		t.Fatalf("exit %d, want %d; stdout %q stderr %q", res.code, ExitFailure, res.stdout, res.stderr)
	}
	if strings.Contains(res.stdout, "Created deployment") || !strings.Contains(res.stdout, "refused: "+reason) {
		t.Fatalf("stdout %q: want the refusal and its reason, not a creation", res.stdout)
	}

	res = runWith(t, t.Context(), nil, append(args, "--output", "json")...)
	if res.code != ExitFailure || !strings.Contains(res.stdout, `"status": "failed"`) {
		t.Fatalf("json: exit %d, stdout %q; want the record and exit %d", res.code, res.stdout, ExitFailure)
	}
}
