package build

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The log blob (see DESIGN.md, "Logs"): JSON lines, one pub.BuildLogLine ({"n","time","phase",
// "text"}) per line of the build's log in order, each ended by "\n". The record keeps the byte
// offset of line 1+k*LogIndexStride (LogIndex), so a page after line N reads from the offset of
// the stride before it, at most LogIndexStride lines before the first it answers.
const LogIndexStride = 1 << 16

// maxLogIndex bounds a log blob's index (and so the line numbers a log may reach: about 10^9).
const maxLogIndex = 1 << 14

// blobStore is what the service needs of the replicated blob store (module.Core's; tests give
// their own): Upload stores and records a blob on a quorum, Open reads a recorded one.
type blobStore interface {
	Upload(ctx context.Context, r io.Reader, wantSHA string, wantSize int64, verify func(io.ReaderAt, int64) error) (state.Blob, error)
	Open(ctx context.Context, sha string) (io.ReadSeekCloser, state.Blob, error)
}

// blobs is the blob store in use: Module.blobs when a test set it, else the core's (nil when the
// server has none).
func (m *Module) blobStore() blobStore {
	if m.blobs != nil {
		return m.blobs
	}
	if m.core.Blobs == nil {
		return nil
	}
	return m.core.Blobs
}

// Statuses is how the service sets the commit statuses of the commits it builds (the git
// service's, wired by the server; builds do not import git). Set adds a status to commit of
// repository repo; Latest answers the latest status of context on it (ok false when it has
// none). A repository deleted since the build started is fault.NotFound.
type Statuses interface {
	Set(ctx context.Context, repo, commit string, s pub.CommitStatusRequest) error
	Latest(ctx context.Context, repo, commit, context string) (s pub.CommitStatus, ok bool, err error)
}

// StatusContext is the commit status context of project's builds.
func StatusContext(project string) string { return "slipway/build/" + project }

// buildStatus is the commit status a build's state maps to: pending while it is queued or runs,
// success when it SUCCEEDED, failure when it FAILED, error otherwise (FAULT, STOPPED,
// TIMED_OUT: the build did not decide).
func (m *Module) buildStatus(b Build) pub.CommitStatusRequest {
	s := pub.CommitStatusRequest{Context: StatusContext(b.Project), TargetURL: m.consoleURL(b.ID)}
	switch b.Status {
	case pub.BuildQueued, pub.BuildInProgress:
		s.State, s.Description = "pending", fmt.Sprintf("build #%d started", b.Number)
	case pub.BuildSucceeded:
		s.State, s.Description = "success", fmt.Sprintf("build #%d succeeded", b.Number)
	case pub.BuildFailed:
		s.State, s.Description = "failure", fmt.Sprintf("build #%d failed", b.Number)
	default:
		s.State, s.Description = "error", fmt.Sprintf("build #%d ended %s", b.Number, b.Status)
	}
	if n := len(b.Phases); n > 0 && b.Ended() && b.Status != pub.BuildSucceeded {
		for _, p := range b.Phases {
			if p.Status != "" && p.Status != pub.BuildSucceeded && p.Message != "" {
				s.Description += " in " + p.Name + ": " + p.Message
				break
			}
		}
	}
	if len(s.Description) > 1000 {
		s.Description = s.Description[:1000]
	}
	return s
}

// consoleURL is the build's console page on this server (its advertised API address), "" when it
// cannot be known.
func (m *Module) consoleURL(id string) string {
	if m.core == nil || m.core.HTTP == nil || m.core.Cluster == nil {
		return ""
	}
	servers, err := m.core.HTTP.Servers()
	if err != nil {
		return ""
	}
	for _, s := range servers {
		if s.ID == m.core.Cluster.ID() && s.HTTPAddr != "" {
			return s.HTTPAddr + "/ui/builds/" + id
		}
	}
	return ""
}

// setStatus sets build b's commit status to what its state maps to, unless that context's latest
// status on the commit is that already (a finish redone by a new leader sets it once). A build
// without a repository commit has none.
func (m *Module) setStatus(ctx context.Context, b Build) error {
	repo := b.Source.Repository
	if b.SourceArtifact != nil { // a source artifact's commit is of its own repository
		repo = b.SourceArtifact.Repository
	}
	if m.Statuses == nil || b.Source.Type != pub.SourceSlipwayRepo || repo == "" || !commitRe.MatchString(b.ResolvedSourceVersion) {
		return nil
	}
	want := m.buildStatus(b)
	cur, ok, err := m.Statuses.Latest(ctx, repo, b.ResolvedSourceVersion, want.Context)
	if err != nil {
		return err
	}
	if ok && cur.State == want.State && cur.Description == want.Description {
		return nil
	}
	return m.Statuses.Set(ctx, repo, b.ResolvedSourceVersion, want)
}

// startStatus sets a started build's commit status pending, best effort (a failure is logged):
// the build is committed whatever happens here, and its end's status is the finish task's.
func (m *Module) startStatus(ctx context.Context, res command.Result) {
	b, err := command.Data[Build](res)
	if err != nil {
		return
	}
	// The status is a write of its own: under the start's request ID it would be answered with
	// the start's outcome (an idempotent retry), so it gets one derived from it.
	sctx := context.WithoutCancel(ctx)
	if rid := command.RequestIDFrom(ctx); rid != "" {
		sctx = command.WithRequestID(sctx, rid+"-status")
	}
	sctx, cancel := context.WithTimeout(sctx, 5*time.Second)
	defer cancel()
	err = m.setStatus(sctx, b)
	if err != nil {
		m.core.Log.Info("the pending commit status of a build was not set", "build", b.ID, "error", err)
	}
}

// defaultFinishInterval is the longest the finish task sleeps between two scans of build/finish;
// it also wakes when an entry is applied.
const (
	defaultFinishInterval = 10 * time.Second
	finishGap             = 200 * time.Millisecond // the least time between two scans
	maxFinishScan         = 100                    // builds settled per scan
)

// finishTask runs on the leader: it settles each ended build of build/finish (Finish) as soon as
// this server applies its entry, and keeps no state of its own: a new leader's first scan finds
// what the old one left.
func (m *Module) finishTask(ctx context.Context) {
	var warned time.Time // a failure that lasts is logged once a minute, not at every scan
	for {
		idx := m.core.Cluster.AppliedIndex()
		if n, err := m.Builds().Finish(ctx); err != nil && ctx.Err() == nil && time.Since(warned) > time.Minute {
			m.core.Log.Warn("settling ended builds", "settled", n, "error", err)
			warned = time.Now()
		}
		gap := time.NewTimer(finishGap)
		select {
		case <-ctx.Done():
			gap.Stop()
			return
		case <-gap.C:
		}
		wctx, cancel := context.WithTimeout(ctx, defaultFinishInterval)
		_ = m.core.Cluster.WaitApplied(wctx, idx+1)
		cancel()
		if ctx.Err() != nil {
			return
		}
	}
}

// Finish settles the ended builds of build/finish, up to maxFinishScan of them: for each it
// assembles the log into a blob, sets the commit status and proposes build.finish. It answers
// how many it settled; a build it could not settle stays for the next scan (the first error is
// returned after the others were tried).
func (s *Builds) Finish(ctx context.Context) (int, error) {
	var ids []string
	err := s.m.core.State.View(func(tx *state.Tx) error {
		c := tx.Bucket(bucketFinish).Cursor()
		for k, _ := c.First(); k != nil && len(ids) < maxFinishScan; k, _ = c.Next() {
			ids = append(ids, string(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, id := range ids {
		if err := s.finishOne(ctx, id); err != nil {
			if first == nil {
				first = fmt.Errorf("build %s: %w", id, err)
			}
			continue
		}
		n++
	}
	return n, first
}

// finishOne settles one ended build.
func (s *Builds) finishOne(ctx context.Context, id string) error {
	var b Build
	var found bool
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		b, found, err = getBuild(tx, id)
		return err
	})
	if err != nil {
		return err
	}
	p := FinishPayload{ID: id}
	if found && b.Ended() {
		// The build's git credentials never outlive it (gitcred.go).
		if err := s.m.revokeGitTokens(ctx, b); err != nil {
			return err
		}
	}
	if found && b.Ended() && b.LogBlob == "" {
		if err := s.assembleLog(ctx, &p); err != nil {
			return err
		}
		if err := s.m.setStatus(ctx, b); err != nil {
			if fault.CodeOf(err) != fault.NotFound && fault.CodeOf(err) != fault.Invalid {
				return err // try again at the next scan
			}
			s.m.core.Log.Info("the commit status of an ended build cannot be set", "build", id, "error", err)
		}
	}
	_, err = command.Propose(ctx, s.m.core.Cluster, cmdFinish, s.m.core.Now(), p)
	return err
}

// assembleLog writes the build's log batches, in order, as the log blob (JSON lines) into the
// blob store, and fills p's Blob, Size, Lines and Index. A build without a line has no blob.
// The bytes are a function of the batches only, so a redo stores the same blob (content
// addressed: nothing twice).
func (s *Builds) assembleLog(ctx context.Context, p *FinishPayload) error {
	tmp, err := os.CreateTemp("", "slipway-build-log-*")
	if err != nil {
		return err
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
	w := bufio.NewWriterSize(tmp, 64<<10)
	var size int64
	var index []int64
	var lines uint64
	err = s.m.core.State.View(func(tx *state.Tx) error {
		return eachBatch(tx, p.ID, 0, func(bt logBatch) (bool, error) {
			for i, l := range bt.Lines {
				n := bt.First + uint64(i)
				if n <= lines {
					continue // a batch overlapping the last (never written so; skipped all the same)
				}
				if n > maxLogIndex*LogIndexStride {
					return false, fault.New(fault.Internal, "build %s has a line numbered %d, past the log's bound", state.Shorten(p.ID), n)
				}
				lines = n
				// index[k] is the offset of the first line numbered k*LogIndexStride+1 or more.
				for uint64(len(index))*LogIndexStride < n {
					index = append(index, size)
				}
				raw, err := json.Marshal(pub.BuildLogLine{N: n, Time: l.Time, Phase: l.Phase, Text: l.Text})
				if err != nil {
					return false, err
				}
				raw = append(raw, '\n')
				if _, err := w.Write(raw); err != nil {
					return false, err
				}
				size += int64(len(raw))
			}
			return true, nil
		})
	})
	if err != nil || lines == 0 {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	store := s.m.blobStore()
	if store == nil {
		return fault.New(fault.Unavailable, "this server has no blob store for build logs")
	}
	rec, err := store.Upload(ctx, tmp, "", size, nil)
	if err != nil {
		return err
	}
	p.Blob, p.Size, p.Lines, p.Index = rec.SHA256, rec.Size, lines, index
	return nil
}

// eachBatch calls fn for each log batch of build id holding lines after line after, in order,
// until fn answers false.
func eachBatch(tx *state.Tx, id string, after uint64, fn func(logBatch) (bool, error)) error {
	prefix := append([]byte(id), 0)
	c := tx.Bucket(bucketLogs).Cursor()
	start := logKey(id, after+1)
	k, v := c.Seek(start)
	if k == nil || !bytes.Equal(k, start) { // the batch holding line after+1 may start before it
		var pk, pv []byte
		if k == nil {
			pk, pv = c.Last()
		} else {
			pk, pv = c.Prev()
		}
		if pk != nil && bytes.HasPrefix(pk, prefix) && len(pk) == len(prefix)+8 {
			k, v = pk, pv
		} else {
			k, v = c.Seek(start)
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+8 {
			continue
		}
		var bt logBatch
		if err := json.Unmarshal(v, &bt); err != nil {
			return fmt.Errorf("log batch of build %s: %w", id, err)
		}
		if len(bt.Lines) == 0 || bt.First+uint64(len(bt.Lines))-1 <= after {
			continue // wholly at or before line after
		}
		ok, err := fn(bt)
		if err != nil || !ok {
			return err
		}
	}
	return nil
}

// applyFinish records a settled build's log blob and deletes its batches and its finish entry.
func applyFinish(tx *state.Tx, index uint64, _ *command.Command, p FinishPayload) (any, error) {
	b, ok, err := getBuild(tx, p.ID)
	if err != nil {
		return nil, err
	}
	if ok && !b.Ended() {
		return nil, fault.New(fault.Conflict, "build %s has not ended", state.Shorten(p.ID))
	}
	if ok && b.LogBlob == "" {
		last, err := lastLine(tx, p.ID)
		if err != nil {
			return nil, err
		}
		if last != p.Lines || (p.Blob == "") != (p.Lines == 0) {
			return nil, fault.New(fault.Conflict, "the log of build %s ends at line %d, not %d: assemble it again", state.Shorten(p.ID), last, p.Lines)
		}
	}
	if ok && b.LogBlob == "" && p.Blob != "" {
		if _, err := tx.Blobs().Get(p.Blob); err != nil {
			return nil, err
		}
		if p.Size <= 0 || len(p.Index) == 0 || len(p.Index) > maxLogIndex {
			return nil, fault.New(fault.Invalid, "the log blob of build %s has no size or index", state.Shorten(p.ID))
		}
		if err := tx.Blobs().AddRef(p.Blob, logRef(p.ID)); err != nil {
			return nil, err
		}
		b.LogBlob, b.LogBlobSize, b.LogIndex = p.Blob, p.Size, p.Index
		b.ModifyIndex = index
		if err := state.Put(tx, bucketBuilds, b.ID, b); err != nil {
			return nil, err
		}
	}
	if err := deletePrefix(tx, bucketLogs, append([]byte(p.ID), 0)); err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketFinish).Delete([]byte(p.ID)); err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	return b, nil
}

// lastLine is the number of the last line of build id's batches (0: none).
func lastLine(tx *state.Tx, id string) (uint64, error) {
	prefix := append([]byte(id), 0)
	c := tx.Bucket(bucketLogs).Cursor()
	k, v := c.Seek(logKey(id, ^uint64(0)))
	if k == nil || !bytes.Equal(k, logKey(id, ^uint64(0))) {
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
		return 0, nil
	}
	var bt logBatch
	if err := json.Unmarshal(v, &bt); err != nil {
		return 0, fmt.Errorf("log batch of build %s: %w", id, err)
	}
	if len(bt.Lines) == 0 {
		return bt.First - 1, nil
	}
	return bt.First + uint64(len(bt.Lines)) - 1, nil
}

// logRef is the blob reference a build's log blob holds.
func logRef(id string) string { return "build-log:" + id }

// removeBuildData deletes what a removed build keeps besides its record and indexes: its log
// batches, its reports, its finish entry and its log blob's reference.
func removeBuildData(tx *state.Tx, b Build) error {
	for _, bucket := range [][]byte{bucketLogs, bucketReports} {
		if err := deletePrefix(tx, bucket, append([]byte(b.ID), 0)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketFinish).Delete([]byte(b.ID)); err != nil {
		return err
	}
	if b.LogBlob != "" {
		return tx.Blobs().RemoveRef(b.LogBlob, logRef(b.ID))
	}
	return nil
}

// deletePrefix deletes every key of bucket that starts with prefix.
func deletePrefix(tx *state.Tx, bucket, prefix []byte) error {
	bk := tx.Bucket(bucket)
	var keys [][]byte
	c := bk.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
