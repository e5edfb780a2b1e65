package review_test

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestRenamedRepositoryIsFollowed: a pull request follows its repository through a rename (it
// is kept by the repository's ID): it is shown and filtered under the new name, a push to the
// renamed repository makes a revision, and it merges.
func TestRenamedRepositoryIsFollowed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	if _, err := admin.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codecommit:*","Resource":"*"}]}`
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "code", Document: doc}); err != nil {
		t.Fatal(err)
	}
	alice := user(t, c, 0, "alice")
	main1, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "main", Path: "README.md", Content: "hello\n", Message: "first"})
	if err != nil {
		t.Fatal(err)
	}
	feat1, err := alice.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "feature/a", Path: "a.txt", Content: "a\n", Parent: main1.Commit, Message: "add a"})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "feature/a", Destination: "main", Title: "Add a"})
	if err != nil {
		t.Fatal(err)
	}

	name := "web"
	if _, err := admin.RepoUpdate(ctx, "app", pub.RepositoryUpdateRequest{Name: &name}); err != nil {
		t.Fatal(err)
	}
	got, err := alice.PullRequestGet(ctx, pr.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Repository != "web" {
		t.Fatalf("after the rename the pull request is of %q; want web", got.Repository)
	}
	for _, tc := range []struct {
		repo string
		n    int
	}{{"web", 1}, {"app", 0}} {
		l, err := alice.PullRequestList(ctx, pub.PullRequestFilter{Repository: tc.repo}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.PullRequests) != tc.n {
			t.Fatalf("pull requests of %s: %d; want %d", tc.repo, len(l.PullRequests), tc.n)
		}
	}

	feat2, err := alice.RepoPutFile(ctx, "web", pub.FilePutRequest{Branch: "feature/a", Path: "a.txt", Content: "aa\n", Parent: feat1.Commit, Message: "more a"})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		got, err := alice.PullRequestGet(ctx, pr.ID, nil)
		if err != nil {
			return err
		}
		if got.Revision.SourceCommit != feat2.Commit {
			return fmt.Errorf("revision %d is of %s; want the push to the renamed repository, %s", got.Revision.Number, got.Revision.SourceCommit, feat2.Commit)
		}
		return nil
	})
	merged, err := alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "fast-forward"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := admin.RepoBranch(ctx, "web", "main")
	if err != nil {
		t.Fatal(err)
	}
	if merged.Status != "merged" || b.Commit != feat2.Commit {
		t.Fatalf("after the merge: %s, main at %s; want merged, main at %s", merged.Status, b.Commit, feat2.Commit)
	}
}
