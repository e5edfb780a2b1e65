package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestBuildLogsArtifactsReportsCommands runs build logs [--follow], artifacts, reports, get and
// start --watch against a real server: builds that are stopped (no worker runs them here) have
// an empty log that ends, no artifacts and no reports, and a follow or a watch exits 1 when the
// build ends STOPPED.
func TestBuildLogsArtifactsReportsCommands(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cli := func(ctx context.Context, args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}
	cl := c.Client(0)
	if _, err := cl.RepoCreate(ctx, api.RepositoryCreateRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RepoPutFile(ctx, "shop", api.FilePutRequest{Branch: "main", Path: "buildspec.yml", Message: "ci",
		Content: "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: "web", Source: api.ProjectSource{Repository: "shop"}}); err != nil {
		t.Fatal(err)
	}

	// start --watch follows the build until it ends: stopped, it exits 1.
	watched := make(chan result, 1)
	go func() { watched <- cli(ctx, "build", "start", "web", "--watch") }()
	var id string
	deadline := time.Now().Add(20 * time.Second)
	for id == "" {
		l, err := cl.BuildListForProject(ctx, "web", nil)
		if err == nil && len(l.Builds) == 1 {
			id = l.Builds[0].ID
		} else if time.Now().After(deadline) {
			t.Fatalf("no build started: %+v, %v", l, err)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if r := cli(ctx, "build", "stop", id); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	r := <-watched
	if r.code != 1 || !strings.Contains(r.stdout, "Build "+id+" (#1) started") || !strings.Contains(r.stdout, "== QUEUED STOPPED") ||
		!strings.Contains(r.stdout, "Build "+id+" STOPPED") || !strings.Contains(r.stderr, "build "+id+" STOPPED") {
		t.Fatalf("start --watch: %+v", r)
	}

	if r := cli(ctx, "build", "logs", id); r.code != 0 || r.stdout != "" {
		t.Fatalf("logs: %+v", r)
	}
	if r := cli(ctx, "build", "logs", id, "--follow"); r.code != 1 || !strings.Contains(r.stdout, "Build "+id+" STOPPED") {
		t.Fatalf("logs --follow: %+v", r)
	}
	r = cli(ctx, "build", "logs", id, "--follow", "--output", "json")
	var last api.BuildLogMessage
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 1 || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil || last.End != api.BuildStopped {
		t.Fatalf("logs --follow --output json: %+v", r)
	}
	if r := cli(ctx, "build", "artifacts", id); r.code != 0 || !strings.Contains(r.stdout, "ARTIFACT") {
		t.Fatalf("artifacts: %+v", r)
	}
	if r := cli(ctx, "build", "artifacts", id, "--output", "json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("artifacts --output json: %+v", r)
	}
	if r := cli(ctx, "build", "artifacts", id, "--extract"); r.code != 2 || !strings.Contains(r.stderr, "--extract needs --download") {
		t.Fatalf("artifacts --extract alone: %+v", r)
	}
	if r := cli(ctx, "build", "artifacts", id, "--download", t.TempDir()); r.code != 0 || r.stdout != "" {
		t.Fatalf("artifacts --download of none: %+v", r)
	}
	if r := cli(ctx, "build", "reports", id); r.code != 0 || !strings.Contains(r.stdout, "has no reports") {
		t.Fatalf("reports: %+v", r)
	}
	r = cli(ctx, "build", "get", id, "--output", "json")
	var raw map[string]json.RawMessage
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &raw) != nil || string(raw["reports"]) != "[]" || string(raw["status"]) != `"STOPPED"` ||
		string(raw["artifacts"]) != "[]" || string(raw["exported_variables"]) != "{}" || string(raw["log_lines"]) != "0" {
		t.Fatalf("get --output json: %+v", r)
	}
	if r := cli(ctx, "build", "logs", "web:00000000-0000-4000-8000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("logs of a missing build: %+v", r)
	}
}

// buildAPI is a server that answers the read side of one build as a cluster would once the
// build ran: two pages of log lines, a follow that sends lines, phase changes and the end, an
// artifact's zip, a report.
func buildAPI(t *testing.T, zipBytes []byte) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	line := func(n uint64, phase, text string) api.BuildLogLine {
		return api.BuildLogLine{N: n, Time: time.Unix(0, 0), Phase: phase, Text: text}
	}
	end := time.Unix(5, 0)
	mux.HandleFunc("GET /v1/builds/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		page := api.BuildLogPage{Lines: []api.BuildLogLine{}}
		switch r.URL.Query().Get("after") {
		case "":
			page.Lines, page.Next = []api.BuildLogLine{line(1, "INSTALL", "go version"), line(2, "BUILD", "make")}, 2
		case "2":
			page.Lines, page.Next = []api.BuildLogLine{line(3, "BUILD", "ok")}, 3
		default:
			page.Next, page.Ended = 3, true
		}
		_ = json.NewEncoder(w).Encode(page)
	})
	mux.HandleFunc("GET /v1/builds/{id}/logs/watch", func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.Close() }()
		b := api.Build{ID: r.PathValue("id"), Status: api.BuildInProgress, Phases: []api.BuildPhase{{Name: "BUILD"}}}
		_ = ws.WriteJSON(api.BuildLogMessage{Build: &b})
		_ = ws.WriteJSON(api.BuildLogMessage{Lines: []api.BuildLogLine{line(1, "BUILD", "make")}, Next: 1})
		b.Status, b.Phases = api.BuildSucceeded, []api.BuildPhase{{Name: "BUILD", Status: "SUCCEEDED", EndTime: &end, DurationMS: 5000}, {Name: "COMPLETED"}}
		_ = ws.WriteJSON(api.BuildLogMessage{Build: &b})
		_ = ws.WriteJSON(api.BuildLogMessage{End: api.BuildSucceeded, Next: 1})
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "SUCCEEDED"), time.Now().Add(time.Second))
	})
	mux.HandleFunc("GET /v1/builds/{id}/artifacts", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(api.BuildArtifacts{Artifacts: []api.BuildArtifact{{Name: "app", Blob: "ab", Size: int64(len(zipBytes))}}})
	})
	mux.HandleFunc("GET /v1/builds/{id}/artifacts/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "primary" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(zipBytes)
	})
	mux.HandleFunc("GET /v1/builds/{id}/reports", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(api.BuildReports{Reports: []api.BuildReport{{Name: "unit", Format: "JUNITXML", Status: "FAILED", Total: 2,
			Counts: map[string]int{"FAILED": 1, "SUCCEEDED": 1}, Cases: []api.BuildTestCase{{Name: "TestB", Status: "FAILED", Message: "want 2\ngot 3"}, {Name: "TestA", Status: "SUCCEEDED"}}}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestBuildReadCommandsOutput: logs prints every page with each line's phase, --follow prints
// lines and phase changes and exits 0 for a build that SUCCEEDED, artifacts --download writes
// the zip and --extract unpacks it, reports prints the counts and the cases.
func TestBuildReadCommandsOutput(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	f, _ := zw.Create("bin/app")
	_, _ = f.Write([]byte("binary"))
	_ = zw.Close()
	srv := buildAPI(t, zb.Bytes())
	cli := func(args ...string) result {
		return runWith(t, context.Background(), nil, append([]string{"--addr", srv.URL, "--token", testutil.ManagementToken}, args...)...)
	}
	const id = "web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a"
	if r := cli("build", "logs", id); r.code != 0 || r.stdout != "INSTALL          | go version\nBUILD            | make\nBUILD            | ok\n" {
		t.Fatalf("logs: %+v", r)
	}
	r := cli("build", "logs", id, "--follow")
	if r.code != 0 || !strings.Contains(r.stdout, "== BUILD\nBUILD            | make\n== BUILD SUCCEEDED (5s)\nBuild "+id+" SUCCEEDED") {
		t.Fatalf("logs --follow: %+v", r)
	}
	dir := t.TempDir()
	if r := cli("build", "artifacts", id, "--download", dir); r.code != 0 || !strings.Contains(r.stdout, "primary -> "+filepath.Join(dir, "primary.zip")) {
		t.Fatalf("artifacts --download: %+v", r)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "primary.zip")); err != nil || !bytes.Equal(got, zb.Bytes()) {
		t.Fatalf("the downloaded zip: %v", err)
	}
	if r := cli("build", "artifacts", id, "--download", dir, "--extract"); r.code != 0 {
		t.Fatalf("artifacts --extract: %+v", r)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "primary", "bin", "app")); err != nil || string(got) != "binary" {
		t.Fatalf("the extracted file: %q, %v", got, err)
	}
	r = cli("build", "reports", id)
	if r.code != 0 || !strings.Contains(r.stdout, "Report unit (JUNITXML): FAILED, 2 cases: FAILED=1 SUCCEEDED=1") || !strings.Contains(r.stdout, "TestB") || !strings.Contains(r.stdout, "want 2") || strings.Contains(r.stdout, "got 3") {
		t.Fatalf("reports: %+v", r)
	}
}
