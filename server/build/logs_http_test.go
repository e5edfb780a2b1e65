package build_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// waitStatus polls commit's latest status of context in repo until it is state (or fails the
// test after 20 s).
func waitStatus(t *testing.T, cl *pub.Client, repo, commit, context, state string) pub.CommitStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := cl.RepoStatuses(t.Context(), repo, commit)
		if err == nil {
			for _, s := range st.Latest {
				if s.Context == context && s.State == state {
					return s
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status %s of %s never became %s: %+v, %v", context, commit, state, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBuildStatusesAndReadRoutes drives a build's read side on a real one-node server with a
// real repository: the build's commit gets status slipway/build/PROJECT pending when it starts
// (with the build's console page) and error when it is stopped (the leader's finish task);
// branch protection requiring that context refuses a merge of the commit while it is not
// success; the log, its follow, the artifacts and reports of a build that ran nothing answer
// empty, ended.
func TestBuildStatusesAndReadRoutes(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	head := repoWithBuildspec(t, cl, "shop")
	feat, err := cl.RepoPutFile(ctx, "shop", pub.FilePutRequest{Branch: "feature", Parent: head, Path: "x.txt", Content: "x", Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RepoProtect(ctx, "shop", pub.BranchProtection{Pattern: "main", RequiredStatuses: []string{"slipway/build/web"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "web", Source: pub.ProjectSource{Repository: "shop"}, SourceVersion: "feature"}); err != nil {
		t.Fatal(err)
	}
	b, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "web"})
	if err != nil || b.ResolvedSourceVersion != feat.Commit {
		t.Fatalf("start: %+v, %v", b, err)
	}
	st := waitStatus(t, cl, "shop", feat.Commit, "slipway/build/web", "pending")
	if !strings.HasSuffix(st.TargetURL, "/ui/builds/"+b.ID) || !strings.HasPrefix(st.TargetURL, c.URL(0)) || st.Creator != "slipway-build" || !strings.Contains(st.Description, "#1") {
		t.Fatalf("the pending status: %+v", st)
	}
	merge := pub.RepoMergeRequest{Source: "feature", Destination: "main", SourceCommit: feat.Commit, DestinationCommit: head, Strategy: pub.MergeFastForward}
	if _, err := cl.RepoMerge(ctx, "shop", merge); err == nil || !strings.Contains(err.Error(), "required status slipway/build/web is pending") {
		t.Fatalf("a merge of a commit whose build runs: %v", err)
	}

	// The follow of a queued build sends the record, then the end once it is stopped.
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	msgs := make(chan pub.BuildLogMessage, 16)
	followed := make(chan error, 1)
	go func() {
		followed <- cl.BuildLogsFollow(fctx, b.ID, 0, func(m pub.BuildLogMessage) error { msgs <- m; return nil })
	}()
	if m := <-msgs; m.Build == nil || m.Build.Status != pub.BuildQueued {
		t.Fatalf("the follow's first message: %+v", m)
	}
	if _, err := cl.BuildStop(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := <-followed; err != nil {
		t.Fatalf("the follow: %v", err)
	}
	var last pub.BuildLogMessage
	for len(msgs) > 0 {
		last = <-msgs
	}
	if last.End != pub.BuildStopped {
		t.Fatalf("the follow's last message: %+v", last)
	}

	st = waitStatus(t, cl, "shop", feat.Commit, "slipway/build/web", "error")
	if !strings.Contains(st.Description, "STOPPED") {
		t.Fatalf("the status of the stopped build: %+v", st)
	}
	if _, err := cl.RepoMerge(ctx, "shop", merge); err == nil || !strings.Contains(err.Error(), "required status slipway/build/web is error") {
		t.Fatalf("a merge of a commit whose build was stopped: %v", err)
	}
	page, err := cl.BuildLogs(ctx, b.ID, 0, 0)
	if err != nil || len(page.Lines) != 0 || !page.Ended || page.Next != 0 {
		t.Fatalf("the log of a build that ran nothing: %+v, %v", page, err)
	}
	if _, err := cl.BuildLogs(ctx, b.ID, 0, pub.MaxBuildLogLimit+1); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("a limit over the maximum: %v", err)
	}
	if l, err := cl.BuildArtifacts(ctx, b.ID); err != nil || l.Artifacts == nil || len(l.Artifacts) != 0 {
		t.Fatalf("artifacts: %+v, %v", l, err)
	}
	if err := cl.BuildArtifactDownload(ctx, b.ID, "primary", io.Discard); !pub.IsNotFound(err) {
		t.Fatalf("a missing artifact: %v", err)
	}
	if l, err := cl.BuildReports(ctx, b.ID); err != nil || l.Reports == nil || len(l.Reports) != 0 {
		t.Fatalf("reports: %+v, %v", l, err)
	}
	missing := "web:00000000-0000-4000-8000-000000000000"
	if _, err := cl.BuildLogs(ctx, missing, 0, 0); !pub.IsNotFound(err) {
		t.Fatalf("the log of a missing build: %v", err)
	}
	if err := cl.BuildLogsFollow(ctx, missing, 0, func(pub.BuildLogMessage) error { return nil }); !pub.IsNotFound(err) && !errors.Is(err, pub.ErrServersLost) {
		t.Fatalf("the follow of a missing build: %v", err)
	}
}
