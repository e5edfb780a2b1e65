package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestRepoProtectAndStatus drives `slipway repo protect` and `slipway repo status` on a real
// server: a rule set, listed, enforced on a file edit through the API (refused with the reason),
// removed; statuses set and listed with the combined state; and the usage errors.
func TestRepoProtectAndStatus(t *testing.T) {
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
	if r.code != 0 {
		t.Fatalf("first: %+v", r)
	}
	first := strings.Fields(r.stdout)[1]

	r = cli("repo", "protect", "web", "--branch", "main", "--no-force-push", "--no-delete", "--push-principal", "maintainers", "--push-principal", "user:carol")
	if r.code != 0 || !strings.Contains(r.stdout, "no-force-push,no-delete") || !strings.Contains(r.stdout, "maintainers, user:carol") {
		t.Fatalf("protect: %+v", r)
	}
	if r = cli("repo", "protect", "web", "--branch", "release/*", "--require-status", "ci/build"); r.code != 0 {
		t.Fatalf("protect release/*: %+v", r)
	}
	r = cli("repo", "protect", "web", "--list", "--output", "json")
	var list api.BranchProtectionList
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list.Protections) != 2 || list.Protections[1].RequiredStatuses[0] != "ci/build" {
		t.Fatalf("list: %+v", r)
	}
	if err := os.WriteFile(local, []byte("hello again\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cli("repo", "put-file", "web", "--branch", "main", "--path", "README.md", "--file", local)
	if r.code == 0 || !strings.Contains(r.stderr, "protected branch main: only maintainers, user:carol may push to it, not token ") {
		t.Fatalf("put-file on protected main: %+v", r)
	}
	if r = cli("repo", "protect", "web", "--branch", "main"); r.code != 1 || !strings.Contains(r.stderr, "protects nothing") {
		t.Fatalf("an empty rule: %+v", r)
	}

	r = cli("repo", "status", "set", "web", first, "--context", "ci/build", "--state", "failure", "--url", "https://ci.example.com/1")
	if r.code != 0 || !strings.Contains(r.stdout, "ci/build is failure on "+first) {
		t.Fatalf("status set: %+v", r)
	}
	if r = cli("repo", "status", "set", "web", first, "--context", "ci/build", "--state", "success"); r.code != 0 {
		t.Fatalf("status set: %+v", r)
	}
	r = cli("repo", "status", "list", "web", first)
	if r.code != 0 || !strings.Contains(r.stdout, "ci/build") || !strings.Contains(r.stdout, "Combined: success") || strings.Contains(r.stdout, "failure") {
		t.Fatalf("status list: %+v", r)
	}
	if r = cli("repo", "status", "set", "web", first, "--context", "ci/build", "--state", "green"); r.code != 1 || !strings.Contains(r.stderr, "not one of pending") {
		t.Fatalf("a bad state: %+v", r)
	}

	if r = cli("repo", "protect", "web", "--branch", "main", "--remove"); r.code != 0 {
		t.Fatalf("remove: %+v", r)
	}
	if r = cli("repo", "put-file", "web", "--branch", "main", "--path", "README.md", "--file", local); r.code != 0 {
		t.Fatalf("put-file after the rule went: %+v", r)
	}
	if r = cli("repo", "protect", "web"); r.code != 2 {
		t.Fatalf("no --branch: %+v", r)
	}
	if r = cli("repo", "protect", "web", "--list", "--branch", "main"); r.code != 2 {
		t.Fatalf("--list with --branch: %+v", r)
	}
}
