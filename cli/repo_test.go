package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestRepoCommands runs create, list, get, rename and delete against a real server, and the
// refusals: a taken name, a bad name, a delete without the right --confirm.
func TestRepoCommands(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cli := func(args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}

	r := cli("repo", "create", "web", "--description", "The web front")
	if r.code != 0 || !strings.Contains(r.stdout, "git clone "+c.URL(0)+"/git/web.git") {
		t.Fatalf("create: %+v", r)
	}
	if r := cli("repo", "create", "web"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("create of a taken name: %+v", r)
	}
	if r := cli("repo", "create", "web.git"); r.code == 0 || !strings.Contains(r.stderr, `ends in ".git"`) {
		t.Fatalf("create of a bad name: %+v", r)
	}
	if r := cli("repo", "create", "api", "--default-branch", "trunk"); r.code != 0 {
		t.Fatalf("create with a default branch: %+v", r)
	}
	r = cli("repo", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "web") || !strings.Contains(r.stdout, "The web front") || !strings.Contains(r.stdout, "trunk") {
		t.Fatalf("list: %+v", r)
	}
	r = cli("repo", "get", "web", "--output", "json")
	var repo api.Repository
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &repo) != nil || repo.Name != "web" || repo.DefaultBranch != "main" ||
		repo.ID == "" || repo.CloneURLHTTP != c.URL(0)+"/git/web.git" ||
		(c.Server(0).SSHPort() > 0 && repo.CloneURLSSH != fmt.Sprintf("ssh://git@127.0.0.1:%d/web.git", c.Server(0).SSHPort())) {
		t.Fatalf("get --output json: %+v %+v", r, repo)
	}
	r = cli("repo", "host-key")
	if r.code != 0 || !strings.Contains(r.stdout, "Fingerprint: SHA256:") || !strings.Contains(r.stdout, "ssh-ed25519 ") {
		t.Fatalf("host-key: %+v", r)
	}
	if r := cli("repo", "rename", "web", "website"); r.code != 0 || !strings.Contains(r.stdout, "Renamed repository web to website") {
		t.Fatalf("rename: %+v", r)
	}
	r = cli("repo", "get", "website", "--output", "json")
	var renamed api.Repository
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &renamed) != nil || renamed.ID != repo.ID {
		t.Fatalf("get after rename: %+v", r)
	}
	if r := cli("repo", "get", "web"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("get of the old name: %+v", r)
	}
	if r := cli("repo", "delete", "website"); r.code == 0 || !strings.Contains(r.stderr, "--confirm website") {
		t.Fatalf("delete without --confirm: %+v", r)
	}
	if r := cli("repo", "delete", "website", "--confirm", "web"); r.code == 0 {
		t.Fatalf("delete with the wrong --confirm: %+v", r)
	}
	if r := cli("repo", "delete", "website", "--confirm", "website"); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	if r := cli("repo", "list", "--output", "json"); r.code != 0 || strings.Contains(r.stdout, "website") || !strings.Contains(r.stdout, `"api"`) {
		t.Fatalf("list after delete: %+v", r)
	}
}
