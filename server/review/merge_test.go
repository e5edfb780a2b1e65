package review_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestPullRequestMergesWithTheEngine: the story on three real servers with the git
// service's merge engine wired as the server wires it. main takes changes only through pull
// requests (a direct edit is refused naming the rule); alice's pull request needs one approval
// from the reviewers group: refused naming the rule, bob approves, alice pushes again and bob's
// approval goes stale, bob approves again, a squash merge gives one commit whose one parent is
// main's old head, on every server; a three-way merge gives two parents; a fast-forward moves
// main to the source; a conflicting pull request names the conflicting file.
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
	alice, bob := user(t, c, 1, "alice"), user(t, c, 2, "bob")
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

	// Squash, after the approval story.
	feat1 := put(alice, "feature/a", "a.txt", "a\n", main1.Commit)
	pr := open("feature/a")
	if _, err := alice.PullRequestRuleCreate(ctx, pr.ID, pub.PullRequestRule{Name: "one reviewer", Approvals: 1, Pool: []string{"group:reviewers"}}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge before approval", err, pub.CodeConflict, "one reviewer")
	if _, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
		t.Fatal(err)
	}
	feat2 := put(alice, "feature/a", "b.txt", "b\n", feat1)
	testutil.Eventually(t, 30*time.Second, func() error {
		got, err := alice.PullRequestGet(ctx, pr.ID, &pub.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if got.Revision.SourceCommit != feat2 {
			return fmt.Errorf("revision %d at %s; want the push's %s", got.Revision.Number, got.Revision.SourceCommit, feat2)
		}
		return nil
	})
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge with a stale approval", err, pub.CodeConflict, "one reviewer")
	if _, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
		t.Fatal(err)
	}
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
	merged, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "three-way"})
	if err != nil || merged.Merge == nil {
		t.Fatalf("three-way merge: %+v, %v", merged, err)
	}
	onEvery(merged.Merge.Commit, squash, b1)

	// Fast-forward: a branch on main's head.
	now := head(1)
	d1 := put(alice, "feature/d", "d.txt", "d\n", now)
	pr = open("feature/d")
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
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "three-way"})
	wantErr(t, "a conflicting merge", err, pub.CodeConflict, "a.txt")
	if h := head(0); h != d1 {
		t.Fatalf("main moved to %s after a conflicting merge", h)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
