package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git"
)

// gitIn runs the real git in dir with a fixed identity and returns its trimmed output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestRepoBrowseCommands pushes two commits (through the git module's Backend, as the
// transport does) and reads them back with branches, tags, log, tree, show and diff, and the
// refusals: a bad REF:PATH, a path leaving the tree, an unknown ref.
func TestRepoBrowseCommands(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cli := func(args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}
	if r := cli("repo", "create", "web"); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}

	dir := t.TempDir()
	gitIn(t, dir, "init", "--quiet", "--initial-branch=main")
	write := func(name, content string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		gitIn(t, dir, "add", name)
	}
	write("README.md", "# web\n")
	write("src/app.go", "package app\n")
	gitIn(t, dir, "commit", "--quiet", "-m", "First version")
	first := gitIn(t, dir, "rev-parse", "HEAD")
	write("src/app.go", "package app\n\nfunc Run() {}\n")
	gitIn(t, dir, "commit", "--quiet", "-m", "Add Run")
	second := gitIn(t, dir, "rev-parse", "HEAD")
	pack := filepath.Join(t.TempDir(), "push.pack")
	packCmd := exec.Command("git", "pack-objects", "--revs", "--stdout")
	packCmd.Dir, packCmd.Stdin = dir, strings.NewReader(second+"\n")
	out, err := packCmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pack, out, 0o600); err != nil {
		t.Fatal(err)
	}
	m, ok := c.Server(0).Service("git").(*git.Module)
	if !ok {
		t.Fatal("no git service")
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	repo, err := m.Backend().Repo(pctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	sha, err := m.Backend().StorePack(pctx, repo, pack)
	if err != nil {
		t.Fatal(err)
	}
	zero := strings.Repeat("0", 40)
	res, err := m.Backend().Push(pctx, git.Push{Repo: repo, Pack: sha, Caller: &auth.Identity{Token: state.Token{AccessorID: "a", Name: "pusher"}},
		Updates: []git.RefUpdate{{Ref: "refs/heads/main", Old: zero, New: second}, {Ref: "refs/tags/v1", Old: zero, New: first}}})
	if err != nil || len(res) != 2 || !res[0].OK || !res[1].OK {
		t.Fatalf("push: %+v, %v", res, err)
	}

	if r := cli("repo", "branches", "web"); r.code != 0 || !strings.Contains(r.stdout, "main") || !strings.Contains(r.stdout, second) {
		t.Fatalf("branches: %+v", r)
	}
	if r := cli("repo", "tags", "web"); r.code != 0 || !strings.Contains(r.stdout, "v1") || !strings.Contains(r.stdout, first) {
		t.Fatalf("tags: %+v", r)
	}
	r := cli("repo", "log", "web")
	if r.code != 0 || strings.Index(r.stdout, "Add Run") > strings.Index(r.stdout, "First version") || !strings.Contains(r.stdout, second[:12]) || !strings.Contains(r.stdout, "Ada") {
		t.Fatalf("log: %+v", r)
	}
	r = cli("repo", "log", "web", "--path", "README.md", "--limit", "1", "--output", "json")
	var commits []api.Commit
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &commits) != nil || len(commits) != 1 || commits[0].ID != first {
		t.Fatalf("log --path --limit: %+v", r)
	}
	if r := cli("repo", "log", "web", "--ref", "v1", "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &commits) != nil || len(commits) != 1 {
		t.Fatalf("log --ref v1: %+v", r)
	}
	if r := cli("repo", "tree", "web"); r.code != 0 || !strings.Contains(r.stdout, "README.md") || !strings.Contains(r.stdout, "src/") {
		t.Fatalf("tree: %+v", r)
	}
	if r := cli("repo", "tree", "web", "src", "--ref", "v1"); r.code != 0 || !strings.Contains(r.stdout, "src/app.go") || !strings.Contains(r.stdout, "12") {
		t.Fatalf("tree src at v1: %+v", r)
	}
	if r := cli("repo", "show", "web", "main:src/app.go"); r.code != 0 || r.stdout != "package app\n\nfunc Run() {}\n" {
		t.Fatalf("show: %+v", r)
	}
	if r := cli("repo", "show", "web", "v1:src/app.go"); r.code != 0 || r.stdout != "package app\n" {
		t.Fatalf("show at v1: %+v", r)
	}
	if r := cli("repo", "show", "web", ":README.md"); r.code != 0 || r.stdout != "# web\n" {
		t.Fatalf("show on the default branch: %+v", r)
	}
	if r := cli("repo", "diff", "web", "v1", "main"); r.code != 0 || !strings.Contains(r.stdout, "+func Run() {}") || !strings.Contains(r.stdout, "diff --git a/src/app.go b/src/app.go") {
		t.Fatalf("diff: %+v", r)
	}
	if r := cli("repo", "diff", "web", "v1", "main", "--stat"); r.code != 0 || !strings.Contains(r.stdout, "+2") || !strings.Contains(r.stdout, "-0") || strings.Contains(r.stdout, "func Run") {
		t.Fatalf("diff --stat: %+v", r)
	}

	if r := cli("repo", "show", "web", "README.md"); r.code != 2 || !strings.Contains(r.stderr, "is not REF:PATH") {
		t.Fatalf("show without REF:: %+v", r)
	}
	if r := cli("repo", "show", "web", "main:../etc/passwd"); r.code == 0 || !strings.Contains(r.stderr, `contains ".."`) {
		t.Fatalf("show of a path leaving the tree: %+v", r)
	}
	if r := cli("repo", "log", "web", "--ref", "-p"); r.code == 0 || !strings.Contains(r.stderr, "starts with '-'") {
		t.Fatalf("log of an option as ref: %+v", r)
	}
	if r := cli("repo", "diff", "web", "nope", "main"); r.code == 0 || !strings.Contains(r.stderr, "not a branch, tag or commit") {
		t.Fatalf("diff of an unknown ref: %+v", r)
	}
}
