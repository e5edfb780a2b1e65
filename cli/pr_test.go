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
)

// TestPR runs `slipway pr` against a real server: create with --output json printing the id, get
// with its status, list, diff, a line comment, a reply, a rule and evaluate, close and reopen, a
// squash merge (after which it cannot be reopened), and the usage errors.
func TestPR(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	cli := func(args ...string) result {
		return runWith(t, context.Background(), nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}
	if r := cli("repo", "create", "web"); r.code != 0 {
		t.Fatalf("repo create: %+v", r)
	}
	local := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(local, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli("repo", "put-file", "web", "--branch", "main", "--path", "f.txt", "--file", local, "--message", "first"); r.code != 0 {
		t.Fatalf("put-file: %+v", r)
	}
	if err := os.WriteFile(local, []byte("one\ntwo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli("repo", "put-file", "web", "--branch", "topic", "--path", "f.txt", "--file", local, "--message", "two"); r.code != 0 {
		t.Fatalf("put-file topic: %+v", r)
	}

	r := cli("pr", "create", "--repo", "web", "--source", "topic", "--destination", "main", "--title", "Two", "--output", "json")
	var pr struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &pr) != nil || pr.ID != "1" {
		t.Fatalf("pr create: %+v", r)
	}
	if r = cli("pr", "get", pr.ID, "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &pr) != nil || pr.Status != "open" {
		t.Fatalf("pr get: %+v", r)
	}
	if r = cli("pr", "get", pr.ID); r.code != 0 || !strings.Contains(r.stdout, "topic") || !strings.Contains(r.stdout, "created") {
		t.Fatalf("pr get (table): %+v", r)
	}
	if r = cli("pr", "list", "--repo", "web", "--state", "open"); r.code != 0 || !strings.Contains(r.stdout, "Two") {
		t.Fatalf("pr list: %+v", r)
	}
	if r = cli("pr", "diff", pr.ID); r.code != 0 || !strings.Contains(r.stdout, "+two") {
		t.Fatalf("pr diff: %+v", r)
	}
	if r = cli("pr", "comment", pr.ID, "--path", "f.txt", "--line", "2", "--body", "why two?"); r.code != 0 || !strings.Contains(r.stdout, "Comment 1 on pull request 1") {
		t.Fatalf("pr comment: %+v", r)
	}
	if r = cli("pr", "comment", pr.ID, "--reply-to", "1", "--body", "because"); r.code != 0 || !strings.Contains(r.stdout, "Comment 2") {
		t.Fatalf("pr comment --reply-to: %+v", r)
	}
	if r = cli("pr", "rule", pr.ID, "--name", "one reviewer", "--approvals", "1", "--pool", "group:reviewers"); r.code != 0 {
		t.Fatalf("pr rule: %+v", r)
	}
	if r = cli("pr", "evaluate", pr.ID); r.code != 0 || !strings.Contains(r.stdout, "one reviewer") || !strings.Contains(r.stdout, "Approved: false") {
		t.Fatalf("pr evaluate: %+v", r)
	}
	if r = cli("pr", "override", pr.ID); r.code != 0 || !strings.Contains(r.stdout, "overridden by") {
		t.Fatalf("pr override: %+v", r)
	}
	if r = cli("pr", "evaluate", pr.ID); r.code != 0 || !strings.Contains(r.stdout, "Approved: true") {
		t.Fatalf("pr evaluate after the override: %+v", r)
	}
	if r = cli("pr", "close", pr.ID); r.code != 0 || !strings.Contains(r.stdout, "is closed") {
		t.Fatalf("pr close: %+v", r)
	}
	if r = cli("pr", "reopen", pr.ID); r.code != 0 || !strings.Contains(r.stdout, "is open") {
		t.Fatalf("pr reopen: %+v", r)
	}
	if r = cli("pr", "merge", pr.ID, "--strategy", "squash"); r.code != 0 || !strings.Contains(r.stdout, "Merged pull request "+pr.ID+" into main as ") {
		t.Fatalf("pr merge: %+v", r)
	}
	if r = cli("pr", "reopen", pr.ID); r.code == 0 || !strings.Contains(r.stderr, "is merged") {
		t.Fatalf("pr reopen after the merge: %+v", r)
	}
	if r = cli("pr", "create", "--repo", "web", "--source", "topic"); r.code != 2 {
		t.Fatalf("pr create without its flags: %+v", r)
	}
	if r = cli("pr", "merge", pr.ID); r.code != 2 {
		t.Fatalf("pr merge without --strategy: %+v", r)
	}
}
