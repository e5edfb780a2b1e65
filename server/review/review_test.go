package review_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/review"
)

// user creates a user allowed every codecommit action and returns a client of theirs on
// server i.
func user(t *testing.T, c *testutil.Cluster, i int, name string) *pub.Client {
	t.Helper()
	ctx := context.Background()
	cl := c.Client(0)
	pw := "correct horse battery staple"
	if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: name, DisplayName: strings.ToUpper(name[:1]) + name[1:], Email: name + "@example.com", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := cl.PolicyAttach(ctx, "code", pub.PolicyAttachRequest{User: name}); err != nil {
		t.Fatal(err)
	}
	tk, err := cl.Login(ctx, pub.LoginRequest{User: name, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return c.ClientWithToken(i, tk.SecretID)
}

// gitRun runs the real git in dir with a clean environment.
func gitRun(t *testing.T, c *testutil.Cluster, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"), "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=alice", "GIT_AUTHOR_EMAIL=alice@example.com", "GIT_COMMITTER_NAME=alice", "GIT_COMMITTER_EMAIL=alice@example.com"}
	if tls := c.TLS(); tls != nil {
		cmd.Env = append(cmd.Env, "GIT_SSL_CAINFO="+tls.CAFile())
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %v: %v: %s", args, err, stderr.String())
	}
	return strings.TrimSpace(out.String())
}

func wantErr(t *testing.T, what string, err error, code, has string) {
	t.Helper()
	if pub.ErrorCode(err) != code || !strings.Contains(err.Error(), has) {
		t.Fatalf("%s: %v; want %s saying %q", what, err, code, has)
	}
}

// fakeMerger stands in for the merge engine where the merge itself is not what is tested: it
// records the merges asked and answers a fixed commit or conflicts.
type fakeMerger struct {
	mu        sync.Mutex
	asked     []review.MergeInput
	commit    string
	conflicts []string
}

func (f *fakeMerger) Mergeable(context.Context, string, string, string, string, string, string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conflicts, nil
}

func (f *fakeMerger) Merge(_ context.Context, in review.MergeInput) (string, []string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, in)
	if len(f.conflicts) > 0 {
		return "", f.conflicts, nil
	}
	return f.commit, nil, nil
}

// TestPullRequests runs a pull request's life on a real three-server cluster with real git:
// alice opens it from a feature branch, a real git push to the branch makes revision 2 (found
// by the leader's watcher, seen on every server), bob comments on a line, alice replies, edits
// and deletes are their authors' only, bob's approval goes stale with the next revision, the
// author cannot approve, close and reopen, the bounds, and merges: refused without an engine,
// refused when the source moved since the caller's revision, a conflict naming the path, and
// a merge recorded on the timeline.
func TestPullRequests(t *testing.T) {
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
	main1, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "main", Path: "README.md", Content: "hello\n", Message: "first"})
	if err != nil {
		t.Fatal(err)
	}
	feat1, err := alice.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "feature/a", Path: "a.txt", Content: "a\n", Parent: main1.Commit, Message: "add a"})
	if err != nil {
		t.Fatal(err)
	}

	// Bad requests, refused with what to do.
	for _, tc := range []struct {
		req       pub.PullRequestCreateRequest
		code, has string
	}{
		{pub.PullRequestCreateRequest{Repository: "app", Source: "nope", Destination: "main", Title: "t"}, pub.CodeNotFound, "source branch nope does not exist"},
		{pub.PullRequestCreateRequest{Repository: "app", Source: "feature/a", Destination: "main", Title: strings.Repeat("t", review.MaxTitle+1)}, pub.CodeBadRequest, "over the limit of 150"},
		{pub.PullRequestCreateRequest{Repository: "app", Source: "main", Destination: "main", Title: "t"}, pub.CodeBadRequest, "both main"},
		{pub.PullRequestCreateRequest{Repository: "app", Source: "refs/heads/feature/a", Destination: "main", Title: "t"}, pub.CodeBadRequest, "not refs/heads/feature/x"},
		{pub.PullRequestCreateRequest{Repository: "app", Source: "feature/a", Destination: "main", Title: " "}, pub.CodeBadRequest, "title is empty"},
		{pub.PullRequestCreateRequest{Repository: "app", Source: "feature/a", Destination: "main", Title: "t", Description: strings.Repeat("d", review.MaxDescription+1)}, pub.CodeBadRequest, "description of 10241 bytes"},
		{pub.PullRequestCreateRequest{Repository: "gone", Source: "feature/a", Destination: "main", Title: "t"}, pub.CodeNotFound, `repository "gone" not found`},
	} {
		_, err := alice.PullRequestCreate(ctx, tc.req)
		wantErr(t, fmt.Sprintf("create %+.60v", tc.req), err, tc.code, tc.has)
	}

	pr, err := alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "feature/a", Destination: "main", Title: "Add a", Description: "The letter a."})
	if err != nil {
		t.Fatal(err)
	}
	if pr.ID != "1" || pr.Status != "open" || pr.Author != "alice" || pr.Revision.Number != 1 || pr.Revision.SourceCommit != feat1.Commit ||
		pr.Revision.DestinationCommit != main1.Commit || pr.Revision.MergeBase != main1.Commit || pr.Timeline[0].Kind != "created" {
		t.Fatalf("created %+v", pr)
	}
	for i := range 3 { // the server wires the git service's engine: take it away
		c.Server(i).Service("review").(*review.Module).SetMerger(nil)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge without an engine", err, pub.CodeUnavailable, "not available")
	f := &fakeMerger{commit: strings.Repeat("c", 40)}
	for i := range 3 {
		c.Server(i).Service("review").(*review.Module).SetMerger(f)
	}

	// An approval rule: one approval from the group reviewers (bob).
	if _, err := admin.IAMGroupCreate(ctx, pub.IAMGroupCreateRequest{Name: "reviewers"}); err != nil {
		t.Fatal(err)
	}
	if err := admin.IAMGroupAddUser(ctx, "reviewers", "bob"); err != nil {
		t.Fatal(err)
	}
	_, err = alice.PullRequestRuleCreate(ctx, pr.ID, pub.PullRequestRule{Name: "one reviewer", Approvals: 0, Pool: []string{"group:reviewers"}})
	wantErr(t, "a rule of 0 approvals", err, pub.CodeBadRequest, "needs 1-100 approvals")
	if _, err := alice.PullRequestRuleCreate(ctx, pr.ID, pub.PullRequestRule{Name: "one reviewer", Approvals: 1, Pool: []string{"group:reviewers"}}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge before approval", err, pub.CodeConflict, "one reviewer needs 1 approvals of revision 1 from group:reviewers and has 0")

	got, err := bob.PullRequestGet(ctx, pr.ID, &pub.QueryOptions{Consistent: true})
	if err != nil || len(got.Commits) != 1 || got.Commits[0].ID != feat1.Commit || len(got.Files) != 1 || got.Files[0].Path != "a.txt" || got.Files[0].Additions != 1 {
		t.Fatalf("get: %+v, %v", got, err)
	}
	d, err := bob.PullRequestDiff(ctx, pr.ID)
	if err != nil || !strings.Contains(d.Patch, "+++ b/a.txt") || !strings.Contains(d.Patch, "\n+a\n") || d.Revision != 1 {
		t.Fatalf("diff: %+v, %v", d, err)
	}
	_, err = alice.PullRequestGet(ctx, "x", nil)
	wantErr(t, "get x", err, pub.CodeBadRequest, "not a number")
	_, err = alice.PullRequestGet(ctx, "99", nil)
	wantErr(t, "get 99", err, pub.CodeNotFound, "pull request 99 not found")

	// A second PR by bob, for the filters.
	if _, err := bob.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "feature/b", Path: "README.md", Content: "bye\n", Parent: main1.Commit, Message: "b"}); err != nil {
		t.Fatal(err)
	}
	prB, err := bob.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "feature/b", Destination: "main", Title: "Say bye"})
	if err != nil || prB.ID != "2" {
		t.Fatalf("bob's PR: %+v, %v", prB, err)
	}
	for _, tc := range []struct {
		f    pub.PullRequestFilter
		want []string
	}{
		{pub.PullRequestFilter{}, []string{"1", "2"}},
		{pub.PullRequestFilter{Repository: "app", Author: "alice"}, []string{"1"}},
		{pub.PullRequestFilter{Author: "bob", Status: "open"}, []string{"2"}},
		{pub.PullRequestFilter{Status: "merged"}, nil},
		{pub.PullRequestFilter{Destination: "other"}, nil},
	} {
		l, err := c.Client(2).PullRequestList(ctx, tc.f, &pub.QueryOptions{Consistent: true})
		var ids []string
		for _, p := range l.PullRequests {
			ids = append(ids, p.ID)
		}
		if err != nil || !slices.Equal(ids, tc.want) {
			t.Errorf("list %+v: %v, %v; want %v", tc.f, ids, err, tc.want)
		}
	}
	page, err := admin.PullRequestList(ctx, pub.PullRequestFilter{}, &pub.QueryOptions{Limit: 1})
	if err != nil || len(page.PullRequests) != 1 || page.Next != "1" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	_, err = admin.PullRequestList(ctx, pub.PullRequestFilter{Status: "weird"}, nil)
	wantErr(t, "list status weird", err, pub.CodeBadRequest, "not open, closed or merged")

	// A line comment by bob on revision 1, alice's reply, edits and deletes by their authors only.
	line, err := bob.PullRequestComment(ctx, pr.ID, pub.PullRequestCommentRequest{Body: "why a?", Path: "a.txt", Line: 1, Commit: feat1.Commit})
	if err != nil || line.ID != "1" || line.Revision != 1 || line.Side != "source" || line.Author != "bob" {
		t.Fatalf("line comment: %+v, %v", line, err)
	}
	reply, err := alice.PullRequestReply(ctx, pr.ID, line.ID, "because")
	if err != nil || reply.InReplyTo != "1" || reply.Path != "a.txt" || reply.Line != 1 {
		t.Fatalf("reply: %+v, %v", reply, err)
	}
	_, err = alice.PullRequestCommentUpdate(ctx, pr.ID, line.ID, "mine now")
	wantErr(t, "alice edits bob's comment", err, pub.CodeForbidden, "only its author may edit it")
	err = alice.PullRequestCommentDelete(ctx, pr.ID, line.ID)
	wantErr(t, "alice deletes bob's comment", err, pub.CodeForbidden, "only its author may delete it")
	if e, err := bob.PullRequestCommentUpdate(ctx, pr.ID, line.ID, "why the letter a?"); err != nil || e.Body != "why the letter a?" {
		t.Fatalf("bob edits his comment: %+v, %v", e, err)
	}
	_, err = bob.PullRequestComment(ctx, pr.ID, pub.PullRequestCommentRequest{Body: "x", Path: "a.txt", Line: 1, Commit: strings.Repeat("1", 40)})
	wantErr(t, "a comment on a commit of no revision", err, pub.CodeBadRequest, "not the source of any revision")
	_, err = bob.PullRequestComment(ctx, pr.ID, pub.PullRequestCommentRequest{Body: strings.Repeat("x", review.MaxComment+1)})
	wantErr(t, "a comment over the bound", err, pub.CodeBadRequest, "over the limit of 10240")
	_, err = bob.PullRequestReply(ctx, pr.ID, "7", "to nothing")
	wantErr(t, "a reply to no comment", err, pub.CodeNotFound, "comment 7 of pull request 1 not found")
	general, err := bob.PullRequestComment(ctx, pr.ID, pub.PullRequestCommentRequest{Body: "looks fine otherwise"})
	if err != nil || general.Path != "" {
		t.Fatalf("general comment: %+v, %v", general, err)
	}
	if err := bob.PullRequestCommentDelete(ctx, pr.ID, general.ID); err != nil {
		t.Fatal(err)
	}
	cs, err := c.Client(0).PullRequestComments(ctx, pr.ID, &pub.QueryOptions{Consistent: true})
	if err != nil || len(cs.Comments) != 3 || cs.Comments[0].Body != "why the letter a?" || cs.Comments[1].Body != "because" ||
		!cs.Comments[2].Deleted || cs.Comments[2].Body != "" || cs.Comments[2].Author != "bob" {
		t.Fatalf("comments: %+v, %v", cs, err)
	}

	// Approvals: the author cannot approve; bob can.
	_, err = alice.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"})
	wantErr(t, "alice approves her own", err, pub.CodeForbidden, "cannot approve it")
	if p, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil || len(p.Approvals) != 1 || p.Approvals[0].Stale {
		t.Fatalf("bob approves: %+v, %v", p, err)
	}

	// A real git push to the source through server 2 makes revision 2 on every server; bob's
	// approval of revision 1 is stale.
	dir := t.TempDir()
	u, _ := url.Parse(c.URL(2) + "/git/app.git")
	u.User = url.UserPassword("git", testutil.ManagementToken)
	gitRun(t, c, dir, "clone", "-q", "--branch", "feature/a", u.String(), "w")
	w := filepath.Join(dir, "w")
	if err := os.WriteFile(filepath.Join(w, "a.txt"), []byte("a\naa\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gitRun(t, c, w, "commit", "-qam", "more a")
	feat2 := gitRun(t, c, w, "rev-parse", "HEAD")
	gitRun(t, c, w, "push", "-q", "origin", "feature/a")
	for i := range 3 {
		testutil.Eventually(t, 30*time.Second, func() error {
			p, err := c.Client(i).PullRequestGet(ctx, pr.ID, &pub.QueryOptions{Consistent: true})
			if err != nil {
				return err
			}
			if p.Revision.Number != 2 || p.Revision.SourceCommit != feat2 || p.Revision.MergeBase != main1.Commit {
				return fmt.Errorf("server %d: revision %+v; want 2 at %s", i, p.Revision, feat2)
			}
			if len(p.Approvals) != 1 || !p.Approvals[0].Stale || len(p.Commits) != 2 || p.Timeline[len(p.Timeline)-1].Kind != "revision" {
				return fmt.Errorf("server %d: approvals %+v, %d commits, timeline %+v", i, p.Approvals, len(p.Commits), p.Timeline)
			}
			return nil
		})
	}
	if e, err := c.Client(1).PullRequestEvaluate(ctx, pr.ID, &pub.QueryOptions{Consistent: true}); err != nil || e.Approved || len(e.Rules) != 1 || e.Rules[0].Satisfied {
		t.Fatalf("evaluate with a stale approval: %+v, %v", e, err)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge with a stale approval", err, pub.CodeConflict, "one reviewer needs 1 approvals of revision 2")
	_, err = bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE", Revision: 1})
	wantErr(t, "approve an older revision", err, pub.CodeConflict, "at revision 2, not 1")
	if p, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil || p.Approvals[0].Stale || p.Approvals[0].Revision != 2 {
		t.Fatalf("bob approves again: %+v, %v", p, err)
	}
	// The background check found revision 2 mergeable (the engine's answer, recorded on every
	// server).
	testutil.Eventually(t, 30*time.Second, func() error {
		p, err := c.Client(2).PullRequestGet(ctx, pr.ID, &pub.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if p.Mergeable == nil || !*p.Mergeable || p.Revision.Number != 2 {
			return fmt.Errorf("mergeable %v at revision %d", p.Mergeable, p.Revision.Number)
		}
		return nil
	})
	if e, err := c.Client(2).PullRequestEvaluate(ctx, pr.ID, &pub.QueryOptions{Consistent: true}); err != nil || !e.Approved || !slices.Equal(e.Rules[0].ApprovedBy, []string{"bob"}) {
		t.Fatalf("evaluate after bob's approval: %+v, %v", e, err)
	}

	// Title and description; close and reopen.
	title := "Add the letter a"
	if p, err := alice.PullRequestUpdate(ctx, pr.ID, pub.PullRequestUpdateRequest{Title: &title}); err != nil || p.Title != title {
		t.Fatalf("retitle: %+v, %v", p, err)
	}
	if p, err := alice.PullRequestSetStatus(ctx, pr.ID, "closed"); err != nil || p.Status != "closed" {
		t.Fatalf("close: %+v, %v", p, err)
	}
	_, err = alice.PullRequestSetStatus(ctx, pr.ID, "closed")
	wantErr(t, "close a closed one", err, pub.CodeConflict, "already closed")
	if p, err := alice.PullRequestSetStatus(ctx, pr.ID, "open"); err != nil || p.Status != "open" {
		t.Fatalf("reopen: %+v, %v", p, err)
	}

	// Merges: none without an engine; the caller's revision must be the current one; a conflict
	// names its paths; a merge is recorded.
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "rebase"})
	wantErr(t, "merge by rebase", err, pub.CodeBadRequest, "not fast-forward, squash or three-way")
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash", SourceCommit: feat1.Commit})
	wantErr(t, "merge of an old revision", err, pub.CodeConflict, "moved since you looked: it is at revision 2")
	f.mu.Lock()
	f.conflicts = []string{"README.md"}
	f.mu.Unlock()
	_, err = bob.PullRequestMerge(ctx, prB.ID, pub.PullRequestMergeRequest{Strategy: "three-way"})
	wantErr(t, "a conflicting merge", err, pub.CodeConflict, "README.md conflict")
	f.mu.Lock()
	f.conflicts = nil
	f.mu.Unlock()
	merged, err := alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash", SourceCommit: feat2})
	if err != nil || merged.Status != "merged" || merged.Merge == nil || merged.Merge.Commit != f.commit || merged.Merge.By != "alice" ||
		merged.Merge.Revision != 2 || merged.Timeline[len(merged.Timeline)-1].Kind != "merged" {
		t.Fatalf("merge: %+v, %v", merged, err)
	}
	f.mu.Lock()
	last := f.asked[len(f.asked)-1]
	f.mu.Unlock()
	if last.SourceCommit != feat2 || last.DestinationCommit != main1.Commit || last.Strategy != "squash" || last.AuthorName != "Alice" || last.AuthorEmail != "alice@example.com" {
		t.Errorf("the engine was asked %+v", last)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge a merged one", err, pub.CodeConflict, "is merged")
	_, err = alice.PullRequestSetStatus(ctx, pr.ID, "open")
	wantErr(t, "reopen a merged one", err, pub.CodeConflict, "merged")

	// The timeline holds every event in order.
	p, err := c.Client(2).PullRequestGet(ctx, pr.ID, &pub.QueryOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range p.Timeline {
		kinds = append(kinds, e.Kind)
	}
	want := []string{"created", "rule", "comment", "comment", "comment_edited", "comment", "comment_deleted", "approved", "revision", "approved", "title", "closed", "reopened", "merged"}
	if !slices.Equal(kinds, want) {
		t.Errorf("timeline %v; want %v", kinds, want)
	}
}

// TestPullRequestAuthorization: a user allowed to read repositories only can list and read pull
// requests but not open, comment on or merge one, and the denial names the action.
func TestPullRequestAuthorization(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	if _, err := admin.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	m, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "main", Path: "x", Content: "x\n", Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "f", Path: "y", Content: "y\n", Parent: m.Commit, Message: "y"}); err != nil {
		t.Fatal(err)
	}
	pr, err := admin.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "f", Destination: "main", Title: "y"})
	if err != nil {
		t.Fatal(err)
	}
	// Overriding the approval rules: approved whatever they say, and audited.
	if _, err := admin.PullRequestRuleCreate(ctx, pr.ID, pub.PullRequestRule{Name: "two", Approvals: 2, Pool: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	if e, err := admin.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || e.Approved {
		t.Fatalf("evaluate before the override: %+v, %v", e, err)
	}
	if p, err := admin.PullRequestOverride(ctx, pr.ID, true); err != nil || p.OverriddenBy == "" {
		t.Fatalf("override: %+v, %v", p, err)
	}
	if e, err := admin.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || !e.Approved || e.Rules[0].Satisfied || e.OverriddenBy == "" {
		t.Fatalf("evaluate after the override: %+v, %v", e, err)
	}
	audit, err := admin.AuditList(ctx, pub.AuditFilter{Action: "codecommit:OverridePullRequestApprovalRules"}, &pub.QueryOptions{Consistent: true})
	if err != nil || len(audit.Records) == 0 || audit.Records[0].Outcome != "allowed" {
		t.Fatalf("the override's audit records: %+v, %v", audit, err)
	}

	pw := "correct horse battery staple"
	if _, err := admin.UserCreate(ctx, pub.UserCreateRequest{Name: "rita", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := admin.PolicyAttach(ctx, "CodeCommitReadOnlyAccess", pub.PolicyAttachRequest{User: "rita"}); err != nil {
		t.Fatal(err)
	}
	tk, err := admin.Login(ctx, pub.LoginRequest{User: "rita", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	rita := c.ClientWithToken(0, tk.SecretID)
	if l, err := rita.PullRequestList(ctx, pub.PullRequestFilter{Repository: "app"}, nil); err != nil || len(l.PullRequests) != 1 {
		t.Fatalf("rita lists: %+v, %v", l, err)
	}
	if _, err := rita.PullRequestGet(ctx, pr.ID, nil); err != nil {
		t.Fatalf("rita reads: %v", err)
	}
	if _, err := rita.PullRequestComments(ctx, pr.ID, nil); err != nil {
		t.Fatalf("rita reads the comments: %v", err)
	}
	for what, do := range map[string]func() error{
		"codecommit:CreatePullRequest": func() error {
			_, err := rita.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "f", Destination: "main", Title: "z"})
			return err
		},
		"codecommit:PostCommentForPullRequest": func() error {
			_, err := rita.PullRequestComment(ctx, pr.ID, pub.PullRequestCommentRequest{Body: "hi"})
			return err
		},
		"codecommit:UpdatePullRequestTitle": func() error {
			title := "z"
			_, err := rita.PullRequestUpdate(ctx, pr.ID, pub.PullRequestUpdateRequest{Title: &title})
			return err
		},
		"codecommit:OverridePullRequestApprovalRules": func() error {
			_, err := rita.PullRequestOverride(ctx, pr.ID, false)
			return err
		},
		"codecommit:MergePullRequestByFastForward": func() error {
			_, err := rita.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "fast-forward"})
			return err
		},
	} {
		if err := do(); pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), what) {
			t.Errorf("rita: %v; want forbidden naming %s", err, what)
		}
	}
}
