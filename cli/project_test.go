package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestProjectAndBuildCommands runs project create|update|get|list|delete and build
// start|list|get|stop against a real server with a real repository.
func TestProjectAndBuildCommands(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cli := func(args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}
	cl := c.Client(0)
	if _, err := cl.RepoCreate(ctx, api.RepositoryCreateRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	put, err := cl.RepoPutFile(ctx, "shop", api.FilePutRequest{Branch: "main", Path: "ci/buildspec.yml", Message: "ci",
		Content: "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n"})
	if err != nil {
		t.Fatal(err)
	}

	r := cli("project", "create", "web", "--repo", "shop", "--branch", "main", "--buildspec", "ci/buildspec.yml", "--label", "os=linux",
		"--env", "STAGE=test", "--secret-env", "DB_PASSWORD=prod/db/password", "--timeout", "30m", "--output", "json")
	var p api.BuildProject
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &p) != nil || p.TimeoutMinutes != 30 || p.SourceVersion != "main" ||
		p.Source.Buildspec != "ci/buildspec.yml" || p.Environment.Labels["os"] != "linux" || len(p.Environment.Variables) != 2 ||
		p.Environment.Variables[1] != (api.EnvironmentVariable{Name: "DB_PASSWORD", Value: "prod/db/password", Type: "SECRETS_MANAGER"}) {
		t.Fatalf("project create: %+v (%+v)", r, p)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"project", "create", "x1"}, 2, "give the repository with --repo"},
		{[]string{"project", "create", "x1", "--repo", "shop", "--timeout", "90s"}, 2, "not a whole number of minutes"},
		{[]string{"project", "create", "x1", "--repo", "shop", "--branch", "a", "--source-version", "b"}, 2, "not both"},
		{[]string{"project", "create", "x1", "--repo", "shop", "--env", "1A=b"}, 2, "NAME=VALUE"},
		{[]string{"project", "create", "x1", "--no-source"}, 2, "--buildspec-file"},
		{[]string{"project", "create", "web", "--repo", "shop"}, 1, "already exists"},
		{[]string{"project", "create", "x1", "--repo", "shop", "--timeout", "3m"}, 1, "timeout 3 minutes is not 5-2160"},
	} {
		if r := cli(tc.args...); r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: %+v; want exit %d saying %q", tc.args, r, tc.code, tc.msg)
		}
	}
	// An inline buildspec with an error is refused with its diagnostics.
	bad := filepath.Join(t.TempDir(), "buildspec.yml")
	if err := os.WriteFile(bad, []byte("version: 0.3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli("project", "create", "hello", "--no-source", "--buildspec-file", bad); r.code != 1 || !strings.Contains(r.stderr, "buildspec (inline):1:") {
		t.Fatalf("an invalid inline buildspec: %+v", r)
	}

	r = cli("project", "update", "web", "--description", "the web front", "--env", "STAGE=prod")
	if r.code != 0 || !strings.Contains(r.stdout, "Updated build project web") {
		t.Fatalf("project update: %+v", r)
	}
	r = cli("project", "get", "web")
	if r.code != 0 || !strings.Contains(r.stdout, "the web front") || !strings.Contains(r.stdout, "STAGE=prod") ||
		strings.Contains(r.stdout, "DB_PASSWORD") || !strings.Contains(r.stdout, "shop@main") || !strings.Contains(r.stdout, "30m0s") {
		t.Fatalf("project get after update (env replaced, the rest kept): %+v", r)
	}
	if r := cli("project", "list"); r.code != 0 || !strings.Contains(r.stdout, "web") || !strings.Contains(r.stdout, "shop@main") {
		t.Fatalf("project list: %+v", r)
	}

	// Builds.
	r = cli("build", "start", "web", "--env", "EXTRA=1")
	id := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(id, "web:") || strings.Contains(id, "\n") {
		t.Fatalf("build start: %+v", r)
	}
	r = cli("build", "get", id, "--output", "json")
	var raw map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &raw) != nil {
		t.Fatalf("build get --output json: %+v", r)
	}
	for _, k := range []string{"status", "phases", "artifacts", "exported_variables"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("build get --output json lacks %q: %s", k, r.stdout)
		}
	}
	if raw["status"] != "QUEUED" || raw["resolved_source_version"] != put.Commit {
		t.Fatalf("build get: %s", r.stdout)
	}
	r = cli("build", "start", "web", "--source-version", put.Commit, "--output", "json")
	var b2 api.Build
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &b2) != nil || b2.BuildNumber != 2 {
		t.Fatalf("build start --output json: %+v", r)
	}
	r = cli("build", "list", "--project", "web")
	if r.code != 0 || strings.Index(r.stdout, b2.ID) > strings.Index(r.stdout, id) || !strings.Contains(r.stdout, put.Commit[:12]) {
		t.Fatalf("build list, newest first: %+v", r)
	}
	if r := cli("build", "start", "web", "--source-version", "nope"); r.code != 1 || !strings.Contains(r.stderr, "nope") {
		t.Fatalf("build start of a missing branch: %+v", r)
	}
	r = cli("build", "stop", id)
	if r.code != 0 || !strings.Contains(r.stdout, "is STOPPED") {
		t.Fatalf("build stop: %+v", r)
	}
	r = cli("build", "get", id)
	if r.code != 0 || !strings.Contains(r.stdout, "STOPPED") || !strings.Contains(r.stdout, "COMPLETED") || !strings.Contains(r.stdout, "SUBMITTED") {
		t.Fatalf("build get after stop: %+v", r)
	}
	if r := cli("project", "delete", "web"); r.code != 1 || !strings.Contains(r.stderr, "queued or in progress") {
		t.Fatalf("delete with a build queued: %+v", r)
	}
	if r := cli("build", "stop", b2.ID); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	if r := cli("project", "delete", "web"); r.code != 0 || !strings.Contains(r.stdout, "Deleted build project web") {
		t.Fatalf("project delete: %+v", r)
	}
}
