package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// triggerAPI serves group web of app hello's triggers and records the requests and bodies.
func triggerAPI(t *testing.T, reqs *[]string) *httptest.Server {
	t.Helper()
	var triggers []api.Trigger
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/apps/hello/groups/web/triggers", func(w http.ResponseWriter, r *http.Request) {
		var req api.TriggerRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		b, _ := json.Marshal(req)
		*reqs = append(*reqs, "POST "+string(b))
		tr := api.Trigger(req)
		triggers = append(triggers, tr)
		writeJSON(w, http.StatusCreated, api.TriggerCreated{Trigger: tr, Secret: "whsec_abc"})
	})
	mux.HandleFunc("GET /v1/apps/hello/groups/web/triggers", func(w http.ResponseWriter, r *http.Request) {
		*reqs = append(*reqs, "GET")
		writeJSON(w, http.StatusOK, api.TriggerList{Triggers: triggers})
	})
	mux.HandleFunc("DELETE /v1/apps/hello/groups/web/triggers/{name}", func(w http.ResponseWriter, r *http.Request) {
		*reqs = append(*reqs, "DELETE "+r.PathValue("name"))
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestGroupTriggerAddListRemove(t *testing.T) {
	var reqs []string
	srv := triggerAPI(t, &reqs)
	base := []string{"--addr", srv.URL, "--token", testToken, "group", "trigger"}
	res := runWith(t, t.Context(), nil, append(base, "add", "--app", "hello", "web", "notify", "--events", "DeploymentFailure, DeploymentRollback", "--url", "https://hooks.example.com/x")...)
	if res.code != 0 || !strings.Contains(res.stdout, "Secret (shown once; it signs every request): whsec_abc") {
		t.Fatalf("add: code %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	res = runWith(t, t.Context(), nil, append(base, "list", "--app", "hello", "web")...)
	if res.code != 0 || !strings.Contains(res.stdout, "notify") || !strings.Contains(res.stdout, "DeploymentFailure,DeploymentRollback") {
		t.Fatalf("list: code %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	res = runWith(t, t.Context(), nil, append(base, "remove", "--app", "hello", "web", "notify")...)
	if res.code != 0 || res.stdout != "Removed trigger \"notify\" of group \"web\"\n" {
		t.Fatalf("remove: code %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	want := []string{`POST {"name":"notify","events":["DeploymentFailure","DeploymentRollback"],"url":"https://hooks.example.com/x"}`, "GET", "DELETE notify"}
	if strings.Join(reqs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(reqs, "\n"), strings.Join(want, "\n"))
	}
	// Mistakes are usage errors (exit 2), before any request.
	for _, args := range [][]string{
		{"add", "--app", "hello", "web", "n", "--events", "DeploymentSucess", "--url", "https://x"},
		{"add", "--app", "hello", "web", "n", "--url", "https://x"},
		{"add", "--app", "hello", "web", "n", "--events", "all", "--url", "file:///etc/passwd"},
		{"add", "--app", "hello", "web", "n", "--events", "all"},
		{"add", "--app", "hello", "web", "--events", "all", "--url", "https://x"},
	} {
		reqs = nil
		res := runWith(t, t.Context(), nil, append(base, args...)...)
		if res.code != 2 || len(reqs) != 0 {
			t.Errorf("%v: code %d (want 2), %d requests, stderr %q", args, res.code, len(reqs), res.stderr)
		}
	}
	if res := runWith(t, t.Context(), nil, append(base, "add", "--app", "hello", "web", "n", "--events", "DeploymentSucess", "--url", "https://x")...); !strings.Contains(res.stderr, "did you mean DeploymentSuccess") {
		t.Errorf("a misspelt event: %q", res.stderr)
	}
}

// TestGroupHealthCheckFlags: create sends the health check given; update changes the settings
// given over the group's and says so; --health-check-url ” removes it; bad values exit 2.
func TestGroupHealthCheckFlags(t *testing.T) {
	var body string
	srv := groupAPI(t, &body)
	base := []string{"--addr", srv.URL, "--token", testToken, "group"}
	res := runWith(t, t.Context(), nil, append(base, "update", "--app", "hello", "web", "--health-check-url", "http://127.0.0.1:8080/health", "--health-check-attempts", "5")...)
	if res.code != 0 || body != `{"health_check":{"url":"http://127.0.0.1:8080/health","attempts":5}}` {
		t.Fatalf("update: code %d, stdout %q, stderr %q, body %s", res.code, res.stdout, res.stderr, body)
	}
	if !strings.Contains(res.stdout, "health check GET http://127.0.0.1:8080/health") {
		t.Fatalf("update did not say the health check changed: %q", res.stdout)
	}
	for _, args := range [][]string{
		{"update", "--app", "hello", "web", "--health-check-url", "ftp://x"},
		{"update", "--app", "hello", "web", "--health-check-url", "http://x", "--health-check-status", "42"},
		{"update", "--app", "hello", "web", "--health-check-url", "http://x", "--health-check-timeout", "0s"},
		{"create", "--app", "hello", "g", "--host", "h", "--health-check-attempts", "2"},
	} {
		body = ""
		if res := runWith(t, t.Context(), nil, append(base, args...)...); res.code != 2 || body != "" {
			t.Errorf("%v: code %d (want 2), body %q, stderr %q", args, res.code, body, res.stderr)
		}
	}
}
