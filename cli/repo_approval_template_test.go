package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestRepoApprovalTemplate runs `slipway repo approval-template` against a real server: create
// (a comma list and repeated --pool, repeated --branch), get and list (JSON and table), associate
// with a repository, whose pull request's `pr evaluate` then shows the template's rule and its
// origin, update of one field keeping the rest, list --repo, disassociate, delete, and the usage
// errors.
func TestRepoApprovalTemplate(t *testing.T) {
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
	for _, b := range []string{"main", "topic"} {
		if err := os.WriteFile(local, []byte(b+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := cli("repo", "put-file", "web", "--branch", b, "--path", "f.txt", "--file", local, "--message", b); r.code != 0 {
			t.Fatalf("put-file %s: %+v", b, r)
		}
	}

	r := cli("repo", "approval-template", "create", "reviewers-required", "--approvals", "1", "--pool", "group:reviewers,alice", "--pool", "lead-*",
		"--branch", "main", "--branch", "release/*", "--description", "one reviewer", "--output", "json")
	var tm api.ApprovalTemplate
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &tm) != nil || tm.Name != "reviewers-required" || !slices.Equal(tm.Pool, []string{"group:reviewers", "alice", "lead-*"}) ||
		!slices.Equal(tm.Branches, []string{"main", "release/*"}) || tm.Description != "one reviewer" {
		t.Fatalf("create: %+v (%+v)", r, tm)
	}
	if r = cli("repo", "approval-template", "create", "bad", "--approvals", "30", "--pool", "bob"); r.code == 0 || !strings.Contains(r.stderr, "needs 1-25 approvals, not 30") {
		t.Fatalf("create with 30 approvals: %+v", r)
	}
	if r = cli("repo", "approval-template", "associate", "reviewers-required", "--repo", "web"); r.code != 0 || !strings.Contains(r.stdout, "Associated approval rule template reviewers-required with web") {
		t.Fatalf("associate: %+v", r)
	}
	if r = cli("repo", "approval-template", "get", "reviewers-required"); r.code != 0 || !strings.Contains(r.stdout, "group:reviewers, alice, lead-*") || !strings.Contains(r.stdout, "web") {
		t.Fatalf("get: %+v", r)
	}

	if r = cli("pr", "create", "--repo", "web", "--source", "topic", "--destination", "main", "--title", "Topic"); r.code != 0 {
		t.Fatalf("pr create: %+v", r)
	}
	if r = cli("pr", "evaluate", "1"); r.code != 0 || !strings.Contains(r.stdout, "reviewers-required") || !strings.Contains(r.stdout, "template") || !strings.Contains(r.stdout, "Approved: false") {
		t.Fatalf("pr evaluate: %+v", r)
	}
	var e api.PullRequestEvaluation
	if r = cli("pr", "evaluate", "1", "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &e) != nil || len(e.Rules) != 1 || e.Rules[0].Origin != "template" {
		t.Fatalf("pr evaluate --output json: %+v", r)
	}

	if r = cli("repo", "approval-template", "update", "reviewers-required", "--approvals", "2", "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &tm) != nil ||
		tm.Approvals != 2 || len(tm.Pool) != 3 || len(tm.Branches) != 2 || tm.Description != "one reviewer" {
		t.Fatalf("update --approvals: %+v (%+v)", r, tm)
	}
	tm = api.ApprovalTemplate{}
	if r = cli("repo", "approval-template", "update", "reviewers-required", "--all-branches", "--description", "two reviewers", "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &tm) != nil ||
		tm.Approvals != 2 || len(tm.Branches) != 0 || tm.Description != "two reviewers" {
		t.Fatalf("update --all-branches --description: %+v (%+v)", r, tm)
	}
	if r = cli("repo", "approval-template", "list"); r.code != 0 || !strings.Contains(r.stdout, "reviewers-required") || !strings.Contains(r.stdout, "(every branch)") {
		t.Fatalf("list: %+v", r)
	}
	var l api.ApprovalTemplateList
	if r = cli("repo", "approval-template", "list", "--repo", "web", "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &l) != nil || len(l.Templates) != 1 {
		t.Fatalf("list --repo: %+v", r)
	}
	if r = cli("repo", "approval-template", "disassociate", "reviewers-required", "--repo", "web"); r.code != 0 {
		t.Fatalf("disassociate: %+v", r)
	}
	if r = cli("pr", "evaluate", "1"); r.code != 0 || !strings.Contains(r.stdout, "Approved: true") {
		t.Fatalf("pr evaluate after the disassociation: %+v", r)
	}
	if r = cli("repo", "approval-template", "delete", "reviewers-required"); r.code != 0 || !strings.Contains(r.stdout, "Deleted approval rule template reviewers-required") {
		t.Fatalf("delete: %+v", r)
	}
	if r = cli("repo", "approval-template", "get", "reviewers-required"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("get after the delete: %+v", r)
	}

	// Usage errors exit 2 before anything is sent.
	for _, args := range [][]string{
		{"repo", "approval-template", "create", "x", "--approvals", "1"},
		{"repo", "approval-template", "update", "x"},
		{"repo", "approval-template", "update", "x", "--branch", "main", "--all-branches"},
		{"repo", "approval-template", "associate", "x"},
		{"repo", "approval-template", "get"},
	} {
		if r = cli(args...); r.code != 2 {
			t.Errorf("%v: %+v; want exit 2", args, r)
		}
	}
}
