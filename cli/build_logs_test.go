package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

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
