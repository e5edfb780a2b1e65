package build_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
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

// TestBuildRunReadOverHTTP: once a build ran (its reports written as the worker's would be), on a
// real one-node server: the leader's finish task assembles its log into a blob of the real blob
// store and sets the commit status success, which lets branch protection merge the commit; the
// log reads in pages from the blob, a follow resumes after a line and ends; the primary
// artifact downloads from the blob store (whole and by range) as primary.zip; the reports have
// their cases.
func TestBuildRunReadOverHTTP(t *testing.T) {
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
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	f, _ := zw.Create("bin/app")
	_, _ = f.Write(bytes.Repeat([]byte("binary "), 1000))
	_ = zw.Close()
	lines := []string{"go version", "go build ./...", "ok", "PASS", "done"}
	rep := agentproto.BuildReport{Name: "unit", Format: "JUNITXML", Status: "SUCCEEDED", Total: 1, Counts: map[string]int{"SUCCEEDED": 1},
		Files: []string{"report.xml"}, Cases: []agentproto.BuildTestCase{{Name: "TestA", Status: "SUCCEEDED", DurationNS: 1000}}}
	m := c.Server(0).Service("build").(*build.Module)
	if err := build.RunForTest(ctx, m, b.ID, lines, pub.BuildSucceeded, zb.Bytes(), rep); err != nil {
		t.Fatal(err)
	}
	// A write wakes the finish task (the test's writes above were not Raft entries).
	if _, err := cl.RepoSetStatus(ctx, "shop", head, pub.CommitStatusRequest{State: "success", Context: "wake"}); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, cl, "shop", feat.Commit, "slipway/build/web", "success")
	if st.Description != "build #1 succeeded" {
		t.Fatalf("the success status: %+v", st)
	}
	// The status and the build's log blob are two commands of the finish task: wait for the
	// second, read consistently.
	var got *pub.Build
	for deadline := time.Now().Add(30 * time.Second); ; {
		got, err = cl.BuildGet(ctx, b.ID, &pub.QueryOptions{Consistent: true})
		if err == nil && got.LogBlob != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the build's log blob never settled: %+v, %v", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.LogLines != 5 || len(got.Reports) != 1 || got.Reports[0].Counts["SUCCEEDED"] != 1 {
		t.Fatalf("the settled build: %+v", got)
	}
	if res, err := cl.RepoMerge(ctx, "shop", pub.RepoMergeRequest{Source: "feature", Destination: "main", SourceCommit: feat.Commit,
		DestinationCommit: head, Strategy: pub.MergeFastForward}); err != nil || res.Commit != feat.Commit {
		t.Fatalf("a merge of a commit whose build succeeded: %+v, %v", res, err)
	}

	// The log, in pages of two, from the blob.
	var texts []string
	for after := uint64(0); ; {
		p, err := cl.BuildLogs(ctx, b.ID, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range p.Lines {
			texts = append(texts, l.Text)
		}
		if len(p.Lines) == 0 {
			if !p.Ended {
				t.Fatalf("the last page: %+v", p)
			}
			break
		}
		after = p.Next
	}
	if strings.Join(texts, "|") != strings.Join(lines, "|") {
		t.Fatalf("the log: %v", texts)
	}
	var followed []string
	end := ""
	if err := cl.BuildLogsFollow(ctx, b.ID, 3, func(m pub.BuildLogMessage) error {
		for _, l := range m.Lines {
			followed = append(followed, l.Text)
		}
		end = m.End
		return nil
	}); err != nil || strings.Join(followed, "|") != "PASS|done" || end != pub.BuildSucceeded {
		t.Fatalf("follow after line 3: %v, %v, %q", err, followed, end)
	}

	// The artifact, whole and by range.
	if l, err := cl.BuildArtifacts(ctx, b.ID); err != nil || len(l.Artifacts) != 1 || l.Artifacts[0].Size != int64(zb.Len()) {
		t.Fatalf("artifacts: %+v, %v", l, err)
	}
	var dl bytes.Buffer
	if err := cl.BuildArtifactDownload(ctx, b.ID, "primary", &dl); err != nil || !bytes.Equal(dl.Bytes(), zb.Bytes()) {
		t.Fatalf("download: %d bytes, %v", dl.Len(), err)
	}
	req, _ := http.NewRequest(http.MethodGet, c.URL(0)+"/v1/builds/"+url.PathEscape(b.ID)+"/artifacts/primary", nil)
	req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
	req.Header.Set("Range", "bytes=2-9")
	hc := c.HTTPClient()
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, zb.Bytes()[2:10]) || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="primary.zip"`) {
		t.Fatalf("a range: %d %q %v", resp.StatusCode, part, resp.Header)
	}
	if err := cl.BuildArtifactDownload(ctx, b.ID, "other", io.Discard); !pub.IsNotFound(err) {
		t.Fatalf("a missing secondary artifact: %v", err)
	}
	reps, err := cl.BuildReports(ctx, b.ID)
	if err != nil || len(reps.Reports) != 1 || reps.Reports[0].Name != "unit" || len(reps.Reports[0].Cases) != 1 || reps.Reports[0].Cases[0].Name != "TestA" {
		t.Fatalf("reports: %+v, %v", reps, err)
	}
}
