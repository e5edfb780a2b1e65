package review_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/webhook"
)

// TestPullRequestEvents: a repository webhook subscribed to pull-request events gets a signed
// delivery for each event of a pull request's life (opened, a comment edited and deleted, the
// title edited, an approval, merged),
// in the repository's one event stream, with the pull request's branches, revision and merge.
func TestPullRequestEvents(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	var mu sync.Mutex
	var got []map[string]any
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if !webhook.Verify([]byte("s3cret"), body, r.Header.Get(pub.HookSignatureHeader)) || json.Unmarshal(body, &ev) != nil {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.Webhooks.AllowPrivateDestinations = true }})
	ctx := context.Background()
	admin := c.Client(0)
	if _, err := admin.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	events := []string{"pull_request", "pull_request_comment", "pull_request_approval"}
	if _, err := admin.RepoHookCreate(ctx, "app", pub.RepoHookRequest{URL: recv.URL, Secret: "s3cret", Events: events}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codecommit:*","Resource":"*"}]}`
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "code", Document: doc}); err != nil {
		t.Fatal(err)
	}
	alice, bob := user(t, c, 0, "alice"), user(t, c, 0, "bob")
	main1, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "main", Path: "README.md", Content: "hello\n", Message: "first"})
	if err != nil {
		t.Fatal(err)
	}
	feat, err := alice.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "feature/a", Path: "a.txt", Content: "a\n", Parent: main1.Commit, Message: "add a"})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "feature/a", Destination: "main", Title: "Add a"})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := bob.PullRequestComment(ctx, pr.ID, pub.PullRequestCommentRequest{Body: "looks good"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PullRequestCommentUpdate(ctx, pr.ID, cm.ID, "looks good to me"); err != nil {
		t.Fatal(err)
	}
	if err := bob.PullRequestCommentDelete(ctx, pr.ID, cm.ID); err != nil {
		t.Fatal(err)
	}
	title := "Add a, again"
	if _, err := alice.PullRequestUpdate(ctx, pr.ID, pub.PullRequestUpdateRequest{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
		t.Fatal(err)
	}
	merged, err := alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "fast-forward"})
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"pull_request opened alice", "pull_request_comment created bob", "pull_request_comment edited bob",
		"pull_request_comment deleted bob", "pull_request edited alice", "pull_request_approval approved bob", "pull_request merged alice"}
	testutil.Eventually(t, 60*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]bool{}
		for _, ev := range got {
			p, _ := ev["payload"].(map[string]any)
			seen[fmt.Sprintf("%v %v %v", ev["type"], p["action"], ev["actor"])] = true
		}
		for _, w := range want {
			if !seen[w] {
				return fmt.Errorf("no delivery %q yet; got %d: %v", w, len(got), seen)
			}
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range got {
		p, _ := ev["payload"].(map[string]any)
		if p["action"] != "merged" {
			continue
		}
		pl, _ := p["pull_request"].(map[string]any)
		rev, _ := pl["revision"].(map[string]any)
		m, _ := pl["merge"].(map[string]any)
		if pl["source"] != "feature/a" || pl["destination"] != "main" || rev["source_commit"] != feat.Commit || m["commit"] != merged.Merge.Commit {
			t.Fatalf("the merged event's pull request: %v", pl)
		}
	}
}
