package review_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestPullRequestMergesWithTheEngine: the story on three real servers with the git
// service's merge engine wired as the server wires it. main takes changes only through pull
// requests (a direct edit is refused naming the rule); the approval rule template
// reviewers-required (one approval from the reviewers group, on main) is associated with the
// repository; alice pushes a feature branch with the real git over HTTP and opens a pull
// request: its merge is refused naming the template, bob approves, alice pushes again with git
// and bob's approval goes stale (marked so, and not counted), bob approves again, a squash merge
// gives one commit whose one parent is main's old head, on every server; a three-way merge gives
// two parents; a fast-forward moves main to the source; a conflicting pull request names the
// conflicting file.
func TestPullRequestMergesWithTheEngine(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	admin := c.Client(0)
	if _, err := admin.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codecommit:*","Resource":"*"}]}`
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "code", Document: doc}); err != nil {
		t.Fatal(err)
	}
	aliceToken := userToken(t, c, "alice")
	alice, bob := c.ClientWithToken(1, aliceToken), user(t, c, 2, "bob")
	if _, err := admin.IAMGroupCreate(ctx, pub.IAMGroupCreateRequest{Name: "reviewers"}); err != nil {
		t.Fatal(err)
	}
	if err := admin.IAMGroupAddUser(ctx, "reviewers", "bob"); err != nil {
		t.Fatal(err)
	}
	main1, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "main", Path: "README.md", Content: "hello\n", Message: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RepoProtect(ctx, "app", pub.BranchProtection{Pattern: "main", NoForcePush: true, RequirePR: true}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "main", Path: "x.txt", Content: "x\n", Parent: main1.Commit, Message: "direct"})
	if err == nil || !containsAll(err.Error(), "protected branch main") {
		t.Fatalf("a direct edit of main: %v; want refused naming the rule", err)
	}
	put := func(cl *pub.Client, branch, path, content, parent string) string {
		t.Helper()
		res, err := cl.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: branch, Path: path, Content: content, Parent: parent, Message: "edit " + path})
		if err != nil {
			t.Fatal(err)
		}
		return res.Commit
	}
	open := func(source string) *pub.PullRequest {
		t.Helper()
		pr, err := alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: source, Destination: "main", Title: source})
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	head := func(i int) string {
		t.Helper()
		b, err := c.Client(i).RepoBranch(ctx, "app", "main")
		if err != nil {
			t.Fatal(err)
		}
		return b.Commit
	}
	// onEvery checks a commit's parents as every server's copy has them.
	onEvery := func(commit string, parents ...string) {
		t.Helper()
		for i := range 3 {
			testutil.Eventually(t, 30*time.Second, func() error {
				got, err := c.Client(i).RepoCommit(ctx, "app", commit)
				if err != nil {
					return err
				}
				if fmt.Sprint(got.Parents) != fmt.Sprint(parents) {
					return fmt.Errorf("server %d: %s has parents %v; want %v", i, commit, got.Parents, parents)
				}
				return nil
			})
		}
	}

	approve := func(pr *pub.PullRequest) {
		t.Helper()
		if _, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
			t.Fatal(err)
		}
	}

	// The rule comes from a template associated with the repository.
	if _, err := admin.ApprovalTemplateCreate(ctx, pub.ApprovalTemplate{Name: "reviewers-required", Approvals: 1, Pool: []string{"group:reviewers"}, Branches: []string{"main"}}); err != nil {
		t.Fatal(err)
	}
	if err := admin.ApprovalTemplateAssociate(ctx, "reviewers-required", "app"); err != nil {
		t.Fatal(err)
	}

	// Squash, after the approval story: alice pushes with git, over HTTP, as herself.
	dir := t.TempDir()
	origin, _ := url.Parse(c.URL(1) + "/git/app.git")
	origin.User = url.UserPassword("alice", aliceToken)
	gitRun(t, c, dir, "clone", "-q", "--branch", "main", origin.String(), "w")
	w := filepath.Join(dir, "w")
	commit := func(path, content, message string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(w, path), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		gitRun(t, c, w, "add", path)
		gitRun(t, c, w, "commit", "-qm", message)
		return gitRun(t, c, w, "rev-parse", "HEAD")
	}
	gitRun(t, c, w, "checkout", "-qb", "feature/a")
	feat1 := commit("a.txt", "a\n", "add a")
	gitRun(t, c, w, "push", "-q", "origin", "feature/a")
	pr := open("feature/a")
	if pr.Revision.SourceCommit != feat1 {
		t.Fatalf("the pull request is at %s; want the push's %s", pr.Revision.SourceCommit, feat1)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge before approval", err, pub.CodeConflict, "approval rule template reviewers-required needs 1 approvals")
	approve(pr)
	if e, err := alice.PullRequestEvaluate(ctx, pr.ID, &pub.QueryOptions{Consistent: true}); err != nil || !e.Approved || e.Rules[0].Origin != pub.RuleOriginTemplate {
		t.Fatalf("evaluate after bob's approval: %+v, %v", e, err)
	}
	feat2 := commit("b.txt", "b\n", "add b")
	gitRun(t, c, w, "push", "-q", "origin", "feature/a")
	for i := range 3 {
		testutil.Eventually(t, 30*time.Second, func() error {
			got, err := c.Client(i).PullRequestGet(ctx, pr.ID, &pub.QueryOptions{Consistent: true})
			if err != nil {
				return err
			}
			if got.Revision.SourceCommit != feat2 {
				return fmt.Errorf("server %d: revision %d at %s; want the push's %s", i, got.Revision.Number, got.Revision.SourceCommit, feat2)
			}
			if len(got.Approvals) != 1 || got.Approvals[0].User != "bob" || !got.Approvals[0].Stale {
				return fmt.Errorf("server %d: approvals %+v; want bob's, stale", i, got.Approvals)
			}
			return nil
		})
	}
	e, err := alice.PullRequestEvaluate(ctx, pr.ID, &pub.QueryOptions{Consistent: true})
	if err != nil || e.Approved || len(e.Rules) != 1 || e.Rules[0].Name != "reviewers-required" || e.Rules[0].Satisfied || len(e.Rules[0].ApprovedBy) != 0 {
		t.Fatalf("evaluate with a stale approval: %+v, %v", e, err)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge with a stale approval", err, pub.CodeConflict, "reviewers-required")
	approve(pr)
	merged, err := alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	if err != nil || merged.Status != "merged" || merged.Merge == nil {
		t.Fatalf("squash merge: %+v, %v", merged, err)
	}
	squash := merged.Merge.Commit
	if h := head(0); h != squash {
		t.Fatalf("main is at %s after the squash merge %s", h, squash)
	}
	onEvery(squash, main1.Commit)

	// Three-way: a branch from the first commit, main having moved since.
	b1 := put(alice, "feature/b", "c.txt", "c\n", main1.Commit)
	pr = open("feature/b")
	approve(pr)
	merged, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "three-way"})
	if err != nil || merged.Merge == nil {
		t.Fatalf("three-way merge: %+v, %v", merged, err)
	}
	onEvery(merged.Merge.Commit, squash, b1)

	// Fast-forward: a branch on main's head.
	now := head(1)
	d1 := put(alice, "feature/d", "d.txt", "d\n", now)
	pr = open("feature/d")
	approve(pr)
	if merged, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "fast-forward"}); err != nil || merged.Merge == nil || merged.Merge.Commit != d1 {
		t.Fatalf("fast-forward merge: %+v, %v; want main at %s", merged, err, d1)
	}
	if h := head(2); h != d1 {
		t.Fatalf("main is at %s after the fast-forward to %s", h, d1)
	}

	// A conflict names the file and moves nothing.
	// (a.txt, added on main by the squash merge, added here with other content.)
	put(alice, "feature/c", "a.txt", "a from c\n", main1.Commit)
	pr = open("feature/c")
	approve(pr)
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "three-way"})
	wantErr(t, "a conflicting merge", err, pub.CodeConflict, "a.txt")
	if h := head(0); h != d1 {
		t.Fatalf("main moved to %s after a conflicting merge", h)
	}
}

// userToken creates a user allowed every codecommit action and returns a session token of
// theirs (for git over HTTP as well as the API).
func userToken(t *testing.T, c *testutil.Cluster, name string) string {
	t.Helper()
	ctx := context.Background()
	cl := c.Client(0)
	pw := "correct horse battery staple"
	if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: name, Email: name + "@example.com", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := cl.PolicyAttach(ctx, "code", pub.PolicyAttachRequest{User: name}); err != nil {
		t.Fatal(err)
	}
	tk, err := cl.Login(ctx, pub.LoginRequest{User: name, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return tk.SecretID
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
