package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

// memBlobs is a blob store in memory that records its blobs in the test's state, as the
// replicated store records them once a quorum holds them.
type memBlobs struct {
	st      *state.Store
	mu      sync.Mutex
	files   map[string][]byte
	uploads int
}

func (b *memBlobs) Upload(_ context.Context, r io.Reader, _ string, _ int64, _ func(io.ReaderAt, int64) error) (state.Blob, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return state.Blob{}, err
	}
	sum := sha256.Sum256(data)
	rec := state.Blob{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	b.mu.Lock()
	b.files[rec.SHA256] = data
	b.uploads++
	b.mu.Unlock()
	return rec, b.st.Update(func(tx *state.Tx) error { _, err := tx.Blobs().Put(rec); return err })
}

func (b *memBlobs) Open(_ context.Context, sha string) (io.ReadSeekCloser, state.Blob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.files[sha]
	if !ok {
		return nil, state.Blob{}, fmt.Errorf("blob %s not held", sha)
	}
	return nopCloser{bytes.NewReader(data)}, state.Blob{SHA256: sha, Size: int64(len(data))}, nil
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// memStatuses records commit statuses as the git service would keep them.
type memStatuses struct {
	mu  sync.Mutex
	set []pub.CommitStatus
}

func (s *memStatuses) Set(_ context.Context, repo, commit string, req pub.CommitStatusRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set = append(s.set, pub.CommitStatus{Commit: repo + "@" + commit, State: req.State, Context: req.Context, Description: req.Description})
	return nil
}

func (s *memStatuses) Latest(_ context.Context, repo, commit, context string) (pub.CommitStatus, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.set) - 1; i >= 0; i-- {
		if s.set[i].Commit == repo+"@"+commit && s.set[i].Context == context {
			return s.set[i], true, nil
		}
	}
	return pub.CommitStatus{}, false, nil
}

func (s *memStatuses) states() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, st := range s.set {
		out = append(out, st.Context+"="+st.State)
	}
	return out
}

// newRunService is newService with a blob store, commit statuses, and a project "web" with one
// build started.
func newRunService(t *testing.T) (*Module, *memBlobs, *memStatuses, string) {
	t.Helper()
	m, _ := newService(t)
	blobs, statuses := &memBlobs{st: m.core.State, files: map[string][]byte{}}, &memStatuses{}
	m.blobs, m.Statuses = blobs, statuses
	ctx := context.Background()
	if _, err := m.Projects().Create(ctx, "ana", pub.ProjectCreateRequest{Name: "web", Source: pub.ProjectSource{Repository: "web"}}); err != nil {
		t.Fatal(err)
	}
	b, err := m.Builds().Start(ctx, "ana", pub.BuildStartRequest{Project: "web"})
	if err != nil {
		t.Fatal(err)
	}
	return m, blobs, statuses, b.ID
}

// writeLines stands for the workers' reports: it appends texts to build id's log as one batch
// and moves the build's modify index, as build.report does.
func writeLines(t *testing.T, m *Module, id, phase string, texts ...string) {
	t.Helper()
	err := m.core.State.Update(func(tx *state.Tx) error {
		b, err := mustBuild(tx, id)
		if err != nil {
			return err
		}
		if b.Status == pub.BuildQueued {
			b.Status = pub.BuildInProgress
		}
		bt := logBatch{First: b.LogLines + 1}
		for i, s := range texts {
			bt.Lines = append(bt.Lines, logLine{Time: t0.Add(time.Duration(b.LogLines+uint64(i)) * time.Millisecond), Phase: phase, Text: s})
			b.LogBytes += int64(len(s))
		}
		b.LogLines += uint64(len(texts))
		b.ModifyIndex++
		if err := state.Put(tx, bucketLogs, string(logKey(id, bt.First)), bt); err != nil {
			return err
		}
		return state.Put(tx, bucketBuilds, id, b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// endBuild ends build id with status, as the worker's BuildEnd report does (finished included).
func endTestBuild(t *testing.T, m *Module, id, status string) {
	t.Helper()
	err := m.core.State.Update(func(tx *state.Tx) error {
		b, err := mustBuild(tx, id)
		if err != nil {
			return err
		}
		b.end(t0.Add(time.Minute), status, status, "")
		b.ModifyIndex++
		if err := state.Put(tx, bucketBuilds, id, b); err != nil {
			return err
		}
		if err := dequeue(tx, b); err != nil {
			return err
		}
		return finished(tx, b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countPrefix(t *testing.T, m *Module, bucket []byte, id string) int {
	t.Helper()
	n := 0
	_ = m.core.State.View(func(tx *state.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		p := []byte(id)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n
}

func texts(p pub.BuildLogPage) []string {
	var out []string
	for _, l := range p.Lines {
		out = append(out, fmt.Sprintf("%d:%s:%s", l.N, l.Phase, l.Text))
	}
	return out
}

// allPages reads a build's log a page of limit lines at a time from after, and the last page.
func allPages(t *testing.T, m *Module, id string, after uint64, limit int) ([]string, pub.BuildLogPage) {
	t.Helper()
	var out []string
	for {
		p, err := m.Builds().Logs(context.Background(), id, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Lines) == 0 {
			if p.Next != after {
				t.Fatalf("an empty page moved next from %d to %d", after, p.Next)
			}
			return out, p
		}
		if p.Lines[0].N != after+1 || p.Next != p.Lines[len(p.Lines)-1].N || len(p.Lines) > limit {
			t.Fatalf("a page after %d (limit %d): first %d, next %d, %d lines", after, limit, p.Lines[0].N, p.Next, len(p.Lines))
		}
		out = append(out, texts(p)...)
		after = p.Next
	}
}

// TestLogPagesAndFinish: pages of a running build's log come from its batches, from any line
// (inside a batch, across batches); the finish task assembles them into one blob, deletes the
// batches and the finish entry, and sets the commit status; the pages from the blob are the
// same; a finish redone changes nothing; deleting the project deletes what the builds kept.
func TestLogPagesAndFinish(t *testing.T) {
	m, blobs, statuses, id := newRunService(t)
	ctx := context.Background()
	if got := statuses.states(); !reflect.DeepEqual(got, []string{"slipway/build/web=pending"}) {
		t.Fatalf("statuses after the start: %v", got)
	}
	if p, err := m.Builds().Logs(ctx, id, 0, 10); err != nil || len(p.Lines) != 0 || p.Ended || p.Next != 0 {
		t.Fatalf("the log of a queued build: %+v, %v", p, err)
	}
	writeLines(t, m, id, "INSTALL", "a", "b", "c")
	writeLines(t, m, id, "BUILD", "d")
	writeLines(t, m, id, "BUILD", "e", "f", "g", "h")
	want := []string{"1:INSTALL:a", "2:INSTALL:b", "3:INSTALL:c", "4:BUILD:d", "5:BUILD:e", "6:BUILD:f", "7:BUILD:g", "8:BUILD:h"}
	for _, limit := range []int{1, 2, 3, 1000} {
		for after := uint64(0); after <= 8; after++ {
			got, last := allPages(t, m, id, after, limit)
			if !reflect.DeepEqual(got, want[after:]) && (len(got) != 0 || after != 8) {
				t.Fatalf("from the batches after %d, limit %d: %v", after, limit, got)
			}
			if last.Ended {
				t.Fatal("a running build's log ended")
			}
		}
	}

	endTestBuild(t, m, id, pub.BuildFailed)
	if _, last := allPages(t, m, id, 0, 100); !last.Ended {
		t.Fatal("an ended build's last page is not ended")
	}
	if n, err := m.Builds().Finish(ctx); n != 1 || err != nil {
		t.Fatalf("finish settled %d (%v)", n, err)
	}
	b, _ := m.Builds().Record(id)
	if b.LogBlob == "" || b.LogBlobSize == 0 || len(b.LogIndex) != 1 || b.LogIndex[0] != 0 {
		t.Fatalf("the record after the finish: blob %q size %d index %v", b.LogBlob, b.LogBlobSize, b.LogIndex)
	}
	if n := countPrefix(t, m, bucketLogs, id); n != 0 {
		t.Fatalf("%d batches left after the finish", n)
	}
	if n := countPrefix(t, m, bucketFinish, id); n != 0 {
		t.Fatal("the finish entry is left")
	}
	if got := statuses.states(); !reflect.DeepEqual(got, []string{"slipway/build/web=pending", "slipway/build/web=failure"}) {
		t.Fatalf("statuses after the finish: %v", got)
	}
	var first pub.BuildLogLine
	if err := json.Unmarshal(bytes.SplitN(blobs.files[b.LogBlob], []byte("\n"), 2)[0], &first); err != nil || first.N != 1 || first.Text != "a" || first.Phase != "INSTALL" {
		t.Fatalf("the blob's first line: %+v, %v", first, err)
	}
	for _, limit := range []int{1, 3, 1000} {
		for after := uint64(0); after < 8; after++ {
			if got, last := allPages(t, m, id, after, limit); !reflect.DeepEqual(got, want[after:]) || !last.Ended {
				t.Fatalf("from the blob after %d, limit %d: %v (last %+v)", after, limit, got, last)
			}
		}
	}

	// Redone (a new leader that had not seen the commit): the same command changes nothing.
	before := b.ModifyIndex
	if err := m.Builds().finishOne(ctx, id); err != nil {
		t.Fatal(err)
	}
	if b2, _ := m.Builds().Record(id); b2.ModifyIndex != before || b2.LogBlob != b.LogBlob {
		t.Fatalf("a finish redone changed the build: %+v", b2)
	}
	if err := m.setStatus(ctx, b); err != nil || len(statuses.states()) != 2 {
		t.Fatalf("a status set again: %v, %v", statuses.states(), err)
	}

	// Deleting the project deletes the builds' reports, batches and the log's reference.
	_ = m.core.State.Update(func(tx *state.Tx) error {
		return tx.Bucket(bucketReports).Put(append([]byte(id+"\x00"), "unit"...), []byte(`{"name":"unit"}`))
	})
	if err := m.Projects().Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(t, m, bucketReports, id); n != 0 {
		t.Fatalf("%d reports left", n)
	}
	_ = m.core.State.View(func(tx *state.Tx) error {
		if tx.Blobs().Referenced(b.LogBlob) {
			t.Fatal("the deleted build's log blob is still referenced")
		}
		return nil
	})
}

// TestLogIndexStride: a log of more than one stride is read from the index's offset: every page
// starts at the line after the one asked for, on both sides of the stride's boundary.
func TestLogIndexStride(t *testing.T) {
	m, _, _, id := newRunService(t)
	ctx := context.Background()
	total := LogIndexStride + 300
	batch := make([]string, 0, 1000)
	for n := 1; n <= total; n++ {
		batch = append(batch, fmt.Sprintf("line %d", n))
		if len(batch) == cap(batch) || n == total {
			writeLines(t, m, id, "BUILD", batch...)
			batch = batch[:0]
		}
	}
	endTestBuild(t, m, id, pub.BuildSucceeded)
	if n, err := m.Builds().Finish(ctx); n != 1 || err != nil {
		t.Fatalf("finish settled %d (%v)", n, err)
	}
	b, _ := m.Builds().Record(id)
	if len(b.LogIndex) != 2 || b.LogIndex[1] <= b.LogIndex[0] {
		t.Fatalf("index %v", b.LogIndex)
	}
	for _, after := range []uint64{0, LogIndexStride - 2, LogIndexStride - 1, LogIndexStride, LogIndexStride + 1, uint64(total) - 1} {
		p, err := m.Builds().Logs(ctx, id, after, 3)
		if err != nil || len(p.Lines) == 0 || p.Lines[0].N != after+1 || p.Lines[0].Text != fmt.Sprintf("line %d", after+1) {
			t.Fatalf("after %d: %v, %v", after, texts(p), err)
		}
	}
	if p, _ := m.Builds().Logs(ctx, id, uint64(total), 3); len(p.Lines) != 0 || !p.Ended || p.Next != uint64(total) {
		t.Fatalf("after the last line: %+v", p)
	}
}

// TestFollow: a follow sends the lines as they are written, the record when it changes, and a
// last message once the build ended and every line was sent; one started after line N sends
// only the later lines.
func TestFollow(t *testing.T) {
	m, _, _, id := newRunService(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs := make(chan pub.BuildLogMessage, 100)
	type result struct{ stopped, end string }
	done := make(chan result, 1)
	go func() {
		stopped, end, err := m.Builds().Follow(ctx, id, 0, func() string { return "" }, func(msg pub.BuildLogMessage) bool { msgs <- msg; return true })
		if err != nil {
			t.Error(err)
		}
		done <- result{stopped, end}
	}()
	next := func() pub.BuildLogMessage {
		select {
		case msg := <-msgs:
			return msg
		case <-ctx.Done():
			t.Fatal("no message")
		}
		return pub.BuildLogMessage{}
	}
	if msg := next(); msg.Build == nil || msg.Build.Status != pub.BuildQueued {
		t.Fatalf("the first message: %+v", msg)
	}
	writeLines(t, m, id, "BUILD", "one", "two")
	var lines []string
	for len(lines) < 2 {
		msg := next()
		for _, l := range msg.Lines {
			lines = append(lines, l.Text)
		}
		if msg.Build != nil && msg.Build.LogLines < uint64(len(lines)) {
			t.Fatalf("a record older than the lines sent: %+v", msg.Build)
		}
	}
	endTestBuild(t, m, id, pub.BuildSucceeded)
	writeLines(t, m, id, "BUILD", "three") // an ended build's lines still arrive before the end
	var end pub.BuildLogMessage
	for end.End == "" {
		msg := next()
		for _, l := range msg.Lines {
			lines = append(lines, l.Text)
		}
		end = msg
	}
	if !reflect.DeepEqual(lines, []string{"one", "two", "three"}) || end.End != pub.BuildSucceeded || end.Next != 3 {
		t.Fatalf("lines %v, end %+v", lines, end)
	}
	if r := <-done; r.end != pub.BuildSucceeded || r.stopped != "" {
		t.Fatalf("follow ended %+v", r)
	}

	// Resumed after line 2 (from the blob once settled): line 3 and the end only.
	if _, err := m.Builds().Finish(ctx); err != nil {
		t.Fatal(err)
	}
	var got []pub.BuildLogMessage
	_, end2, err := m.Builds().Follow(ctx, id, 2, func() string { return "" }, func(msg pub.BuildLogMessage) bool { got = append(got, msg); return true })
	if err != nil || end2 != pub.BuildSucceeded || len(got) != 3 || len(got[0].Lines) != 1 || got[0].Lines[0].Text != "three" || got[1].Build == nil || got[2].End == "" {
		t.Fatalf("resumed: %+v, %s, %v", got, end2, err)
	}
	// A stop reason (a revoked token) ends it at once.
	if stopped, _, _ := m.Builds().Follow(ctx, id, 0, func() string { return "token revoked" }, func(pub.BuildLogMessage) bool { return true }); stopped != "token revoked" {
		t.Fatalf("stopped %q", stopped)
	}
}

// TestFinishTask: the leader task settles an ended build as soon as its entry is applied, and
// build.finish refuses a build still running and a blob the cluster has not recorded.
func TestFinishTask(t *testing.T) {
	m, _, statuses, id := newRunService(t)
	ctx := context.Background()
	writeLines(t, m, id, "BUILD", "x")
	if _, err := m.core.Cluster.Apply(ctx, mustCommand(t, FinishPayload{ID: id})); err != nil {
		t.Fatal(err)
	}
	b, _ := m.Builds().Record(id)
	if b.LogBlob != "" || countPrefix(t, m, bucketLogs, id) != 1 {
		t.Fatal("a finish of a running build changed it")
	}
	endTestBuild(t, m, id, pub.BuildSucceeded)
	res, err := m.core.Cluster.Apply(ctx, mustCommand(t, FinishPayload{ID: id, Blob: strings.Repeat("ab", 32), Size: 3, Index: []int64{0}}))
	if err != nil || res.Err() == nil {
		t.Fatalf("a finish naming an unrecorded blob: %v, %v", res.Err(), err)
	}

	// Lines that land after the assembly: the finish is refused, and the next one takes them.
	p := FinishPayload{ID: id}
	if err := m.Builds().assembleLog(ctx, &p); err != nil || p.Lines != 1 {
		t.Fatalf("assembled %+v, %v", p, err)
	}
	writeLines(t, m, id, "BUILD", "late")
	if res, err := m.core.Cluster.Apply(ctx, mustCommand(t, p)); err != nil || !strings.Contains(fmt.Sprint(res.Err()), "ends at line 2, not 1") {
		t.Fatalf("a finish missing a line: %v, %v", res.Err(), err)
	}

	applied := make(chan command.Type, 16)
	m.core.Cluster.(*fsmCluster).applied = applied
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.finishTask(tctx); close(done) }()
	select {
	case typ := <-applied:
		if typ != cmdFinish.Type() {
			t.Fatalf("the leader task proposed command %d", typ)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the leader task proposed nothing")
	}
	cancel()
	<-done
	if b, _ := m.Builds().Record(id); b.LogBlob == "" || countPrefix(t, m, bucketFinish, id) != 0 {
		t.Fatalf("after the leader task: %+v", b)
	}
	if got, _ := allPages(t, m, id, 0, 10); !reflect.DeepEqual(got, []string{"1:BUILD:x", "2:BUILD:late"}) {
		t.Fatalf("the settled log: %v", got)
	}
	if got := statuses.states(); !reflect.DeepEqual(got, []string{"slipway/build/web=pending", "slipway/build/web=success"}) {
		t.Fatalf("statuses: %v", got)
	}
}

func mustCommand(t *testing.T, p FinishPayload) *command.Command {
	t.Helper()
	c, err := cmdFinish.New("", t0, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
