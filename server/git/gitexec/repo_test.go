package gitexec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// initRepo makes a bare repository with InitBare and returns its path.
func initRepo(t *testing.T, g *Git) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app.git")
	if err := g.InitBare(context.Background(), dir, "main", filepath.Join(t.TempDir(), "hooks")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInitBare(t *testing.T) {
	g := newGit(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "app.git")
	hooks := filepath.Join(t.TempDir(), "hooks")
	if err := g.InitBare(ctx, dir, "trunk", hooks); err != nil {
		t.Fatal(err)
	}
	for _, kv := range append(RepoConfig, [2]string{"core.hooksPath", hooks}, [2]string{"core.bare", "true"}) {
		out, err := g.Output(ctx, dir, "config", "--get", kv[0])
		if err != nil || strings.TrimSpace(string(out)) != kv[1] {
			t.Errorf("%s = %q, %v; want %q", kv[0], out, err, kv[1])
		}
	}
	head, err := g.Output(ctx, dir, "symbolic-ref", "HEAD")
	if err != nil || strings.TrimSpace(string(head)) != "refs/heads/trunk" {
		t.Fatalf("HEAD %q, %v", head, err)
	}
	// No template: no sample hooks, no description file.
	if _, err := os.Stat(filepath.Join(dir, "hooks")); !os.IsNotExist(err) {
		t.Fatalf("the repository has a hooks directory: %v", err)
	}
	// Idempotent on an existing repository.
	if err := g.InitBare(ctx, dir, "trunk", hooks); err != nil {
		t.Fatalf("second InitBare: %v", err)
	}
}

func TestInitBareRefuses(t *testing.T) {
	g := newGit(t)
	ctx := context.Background()
	abs := filepath.Join(t.TempDir(), "r.git")
	for _, tt := range []struct{ dir, branch, hooks string }{
		{"relative.git", "main", "/hooks"},
		{abs, "main", "relative"},
		{abs, "a..b", "/hooks"},
		{abs, "", "/hooks"},
		{abs, "x y", "/hooks"},
	} {
		if err := g.InitBare(ctx, tt.dir, tt.branch, tt.hooks); err == nil {
			t.Errorf("InitBare(%q, %q, %q) = nil, want an error", tt.dir, tt.branch, tt.hooks)
		}
	}
	if _, err := os.Stat(abs); !os.IsNotExist(err) {
		t.Fatalf("a refused InitBare created %s", abs)
	}
}
