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

// TestRepoPutFile commits through `slipway repo put-file` on a real server: the first commit of
// an empty repository, an edit whose parent is read first and printed, a new branch started from
// the default branch, a deletion, a stale --parent refused saying where the branch is, and the
// usage errors.
func TestRepoPutFile(t *testing.T) {
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
	local := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(local, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli("repo", "put-file", "web", "--branch", "main", "--path", "README.md", "--file", local, "--message", "first")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Committed ") {
		t.Fatalf("first: %+v", r)
	}
	first := strings.Fields(r.stdout)[1]
	if err := os.WriteFile(local, []byte("hello again\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cli("repo", "put-file", "web", "--branch", "main", "--path", "README.md", "--file", local)
	if r.code != 0 || !strings.Contains(r.stderr, "Branch main is at "+first) {
		t.Fatalf("edit: %+v", r)
	}
	second := strings.Fields(r.stdout)[1]
	r = cli("repo", "put-file", "web", "--branch", "topic", "--path", "t.txt", "--file", local, "--output", "json")
	if r.code != 0 || !strings.Contains(r.stderr, "starting it from main at "+second) || !strings.Contains(r.stdout, `"parent": "`+second+`"`) {
		t.Fatalf("new branch: %+v", r)
	}
	r = cli("repo", "put-file", "web", "--branch", "main", "--path", "README.md", "--file", local, "--parent", first)
	if r.code == 0 || !strings.Contains(r.stderr, "it is at "+second+" now; reload and edit again") {
		t.Fatalf("stale parent: %+v", r)
	}
	if r = cli("repo", "put-file", "web", "--branch", "main", "--path", "README.md", "--delete"); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	if r = cli("repo", "log", "web", "--ref", "main"); r.code != 0 || !strings.Contains(r.stdout, "Delete README.md") || !strings.Contains(r.stdout, "Update README.md") {
		t.Fatalf("log: %+v", r)
	}
	if r = cli("repo", "put-file", "web", "--branch", "main", "--path", "x"); r.code != 2 {
		t.Fatalf("neither --file nor --delete: %+v", r)
	}
}
