package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// groupAPI serves group web of app hello (hosts dev-1, tag env=dev, config HalfAtATime,
// auto-rollback on-failure) and applies a partial update to it, recording the update's body.
func groupAPI(t *testing.T, body *string) *httptest.Server {
	t.Helper()
	g := api.Group{App: "hello", Name: "web", Hosts: []string{"dev-1"}, Tags: map[string]string{"env": "dev"}, Config: "HalfAtATime", AutoRollback: "on-failure", Members: []api.GroupMember{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/apps/hello/groups/web", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, g) })
	mux.HandleFunc("PUT /v1/apps/hello/groups/web", func(w http.ResponseWriter, r *http.Request) {
		var req api.GroupUpdateRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		b, _ := json.Marshal(req)
		*body = string(b)
		if req.Hosts != nil {
			g.Hosts = *req.Hosts
		}
		if req.Tags != nil {
			g.Tags = *req.Tags
		}
		if req.Config != nil {
			g.Config = *req.Config
		}
		if req.AutoRollback != nil {
			g.AutoRollback = *req.AutoRollback
		}
		if req.HealthCheck != nil {
			g.HealthCheck = req.HealthCheck
			if g.HealthCheck.URL == "" {
				g.HealthCheck = nil
			}
		}
		writeJSON(w, http.StatusOK, g)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestGroupUpdateSaysWhatChanged(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		body, want string
	}{
		{[]string{"--host", "dev-3"}, `{"hosts":["dev-3"]}`,
			"Updated group web: hosts [dev-3] (was [dev-1]); tags, config and auto-rollback unchanged\n"},
		{[]string{"--tag", "", "--config", "AllAtOnce"}, `{"tags":{},"config":"AllAtOnce"}`,
			"Updated group web: tags [] (was [env=dev]); config AllAtOnce (was HalfAtATime); hosts and auto-rollback unchanged\n"},
	} {
		var body string
		srv := groupAPI(t, &body)
		args := append([]string{"--addr", srv.URL, "--token", testToken, "group", "update", "--app", "hello", "web"}, tc.args...)
		res := runWith(t, t.Context(), nil, args...)
		if res.code != 0 || res.stdout != tc.want || body != tc.body {
			t.Errorf("%v: code %d, stdout %q, stderr %q, body %s; want %q and body %s", tc.args, res.code, res.stdout, res.stderr, body, tc.want, tc.body)
		}
	}
	// Nothing to change is a usage error, before any request.
	if res := runWith(t, t.Context(), nil, "--addr", "http://127.0.0.1:1", "--token", testToken, "group", "update", "--app", "hello", "web"); res.code == 0 {
		t.Errorf("an update with nothing to change succeeded: %q", res.stdout)
	}
}

// configAPI serves the built-in OneAtATime and custom config two, used by group hello/web, and
// records the requests.
func configAPI(t *testing.T, reqs *[]string) *httptest.Server {
	t.Helper()
	one := api.DeploymentConfig{Name: "OneAtATime", AWSName: "CodeDeployDefault.OneAtATime", Kind: "MOST_CONCURRENCY", Value: 1, Builtin: true}
	two := api.DeploymentConfig{Name: "two", Kind: "HOST_COUNT", Value: 2, UsedBy: []string{"hello/web"}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		*reqs = append(*reqs, r.Method+" "+r.URL.Path)
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/deployment-configs":
			writeJSON(w, http.StatusOK, api.DeploymentConfigList{Configs: []api.DeploymentConfig{one, two}})
		case "GET /v1/deployment-configs/CodeDeployDefault.OneAtATime":
			writeJSON(w, http.StatusOK, one)
		case "GET /v1/deployment-configs/two":
			writeJSON(w, http.StatusOK, two)
		case "DELETE /v1/deployment-configs/two":
			writeError(w, http.StatusConflict, api.CodeConflict, `deployment config "two" is used by group(s) hello/web`)
		case "DELETE /v1/deployment-configs/three":
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, http.StatusNotFound, api.CodeNotFound, "not found")
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestConfigGetListDelete(t *testing.T) {
	var reqs []string
	srv := configAPI(t, &reqs)
	run := func(args ...string) result {
		return runWith(t, t.Context(), nil, append([]string{"--addr", srv.URL, "--token", testToken, "config"}, args...)...)
	}
	res := run("list")
	if res.code != 0 || !strings.Contains(res.stdout, "AWS NAME") || !strings.Contains(res.stdout, "CodeDeployDefault.OneAtATime") {
		t.Errorf("config list: %d %q %q", res.code, res.stdout, res.stderr)
	}
	res = run("get", "CodeDeployDefault.OneAtATime")
	if res.code != 0 || !strings.Contains(res.stdout, "OneAtATime") || !strings.Contains(res.stdout, "1 (built-in)") {
		t.Errorf("config get by AWS name: %d %q %q", res.code, res.stdout, res.stderr)
	}
	res = run("get", "two")
	if res.code != 0 || !strings.Contains(res.stdout, "hello/web") {
		t.Errorf("config get two: %d %q %q", res.code, res.stdout, res.stderr)
	}
	res = run("delete", "two")
	if res.code == 0 || !strings.Contains(res.stderr, "used by group(s) hello/web") {
		t.Errorf("config delete in use: %d %q %q", res.code, res.stdout, res.stderr)
	}
	res = run("delete", "three")
	if res.code != 0 || res.stdout != "Deleted deployment config \"three\"\n" {
		t.Errorf("config delete: %d %q %q", res.code, res.stdout, res.stderr)
	}
	want := "GET /v1/deployment-configs,GET /v1/deployment-configs/CodeDeployDefault.OneAtATime,GET /v1/deployment-configs/two,DELETE /v1/deployment-configs/two,DELETE /v1/deployment-configs/three"
	if got := strings.Join(reqs, ","); got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
}
