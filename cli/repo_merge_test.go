package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
)

// TestRepoMerge merges through `slipway repo merge` on a real server: a check that lists a
// conflicting path and exits non-zero, a clean check, a squash merge whose heads are read first
// and printed, a stale --destination-commit refused naming the head now, and a missing flag as
// a usage error.
func TestRepoMerge(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	cli := func(args ...string) result {
		return runWith(t, context.Background(), nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}
	if r := cli("repo", "create", "web"); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	local := filepath.Join(t.TempDir(), "f")
	put := func(branch, path, content string) string {
		t.Helper()
		if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		r := cli("repo", "put-file", "web", "--branch", branch, "--path", path, "--file", local)
		if r.code != 0 {
			t.Fatalf("put-file: %+v", r)
		}
		return strings.Fields(r.stdout)[1]
	}
	first := put("main", "a.txt", "a\n")
	put("topic", "t.txt", "t\n")
	put("clash", "a.txt", "a by clash\n")
	main := put("main", "a.txt", "a by main\n")

	r := cli("repo", "merge", "web", "--source", "clash", "--destination", "main", "--strategy", "three-way", "--check")
	if r.code != 1 || !strings.Contains(r.stdout, "in 1 path(s):\n  a.txt") || !strings.Contains(r.stderr, "does not merge") {
		t.Fatalf("check of a conflict: %+v", r)
	}
	if r = cli("repo", "merge", "web", "--source", "topic", "--destination", "main", "--strategy", "squash", "--check"); r.code != 0 || !strings.Contains(r.stdout, "without conflicts") {
		t.Fatalf("check: %+v", r)
	}
	if r = cli("repo", "merge", "web", "--source", "topic", "--destination", "main", "--strategy", "squash", "--destination-commit", first); r.code != 1 || !strings.Contains(r.stderr, "it is at "+main+" now") {
		t.Fatalf("stale destination: %+v", r)
	}
	r = cli("repo", "merge", "web", "--source", "topic", "--destination", "main", "--strategy", "squash")
	if r.code != 0 || !strings.Contains(r.stderr, "Branch main is at "+main) || !strings.Contains(r.stdout, "Merged topic into main (squash): main is at ") {
		t.Fatalf("squash: %+v", r)
	}
	if r = cli("repo", "log", "web", "--ref", "main"); r.code != 0 || !strings.Contains(r.stdout, "Squash branch 'topic' into main") {
		t.Fatalf("log: %+v", r)
	}
	if r = cli("repo", "merge", "web", "--source", "topic", "--destination", "main"); r.code != 2 {
		t.Fatalf("no strategy: %+v", r)
	}
}
