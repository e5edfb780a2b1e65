package git

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// ChangedPaths answers the paths that differ between commits old and new (git diff
// --name-only, no renames: a moved file is its old and its new path), in git's order, at most
// max of them; truncated says there were more. old empty or all zeros (a branch's first push)
// answers every file path of new (git ls-tree -r). Both must be full commit IDs of the copy
// (fault.Invalid, fault.NotFound otherwise). The pipeline service's trigger matches its file
// path filters against them. Callers authorize first.
func (b *Browser) ChangedPaths(ctx context.Context, old, new string, max int) (paths []string, truncated bool, err error) {
	if max <= 0 {
		return nil, true, nil
	}
	if !isHexID(new) {
		return nil, false, fault.New(fault.Invalid, "commit %q is not a full commit ID", state.Shorten(new))
	}
	zeroOld := strings.Trim(old, "0") == ""
	if !zeroOld && !isHexID(old) {
		return nil, false, fault.New(fault.Invalid, "commit %q is not a full commit ID", state.Shorten(old))
	}
	for _, c := range []string{old, new} {
		if c == old && zeroOld {
			continue
		}
		if _, typ, _, err := b.object(ctx, c, ""); err != nil || typ != "tree" {
			return nil, false, fault.New(fault.NotFound, "commit %s is not in repository %s", c, state.Shorten(b.repo.Name))
		}
	}
	args := append(append([]string(nil), diffArgs...), "--name-only", "-z", old, new, "--")
	if zeroOld {
		args = []string{"ls-tree", "-r", "-z", "--name-only", "--full-tree", new}
	}
	pw := &pathWriter{max: max}
	err = b.g.Run(ctx, gitexec.Command{Args: args, GitDir: b.repo.Dir, Stdout: pw})
	if err != nil && !pw.full {
		if ctx.Err() != nil {
			return nil, false, fault.New(fault.Timeout, "reading repository %s took too long: %v", state.Shorten(b.repo.Name), ctx.Err())
		}
		return nil, false, fault.New(fault.Internal, "diffing %s..%s in repository %s: %v", old, new, state.Shorten(b.repo.Name), err)
	}
	return pw.paths, pw.full, nil
}

// pathWriter collects NUL-terminated paths until it has max of them and sees one more; then
// it fails the write (git ends with a broken pipe) and says full.
type pathWriter struct {
	max   int
	paths []string
	part  []byte
	full  bool
}

func (w *pathWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			if len(w.part)+len(p) > 64<<10 { // no path is that long
				return 0, fault.New(fault.Internal, "git answered a path over 64 KiB")
			}
			w.part = append(w.part, p...)
			return n, nil
		}
		if len(w.paths) == w.max {
			w.full = true
			return 0, io.ErrShortWrite
		}
		w.paths = append(w.paths, string(append(w.part, p[:i]...)))
		w.part, p = w.part[:0], p[i+1:]
	}
	return n, nil
}

// ArchiveBlob stores a tar of commit's files (Archive) in the cluster's blob store and
// answers the blob (its SHA-256 and size): a pipeline's source artifact. The same commit
// archives to the same bytes, so a repeated call stores nothing twice. Callers authorize
// first.
func (b *Browser) ArchiveBlob(ctx context.Context, commit string) (state.Blob, error) {
	blobs := b.m.core.Blobs
	if blobs == nil {
		return state.Blob{}, fault.New(fault.Unavailable, "this server has no blob store")
	}
	if !isHexID(commit) {
		return state.Blob{}, fault.New(fault.Invalid, "commit %q is not a full commit ID", state.Shorten(commit))
	}
	if _, typ, _, err := b.object(ctx, commit, ""); err != nil || typ != "tree" {
		return state.Blob{}, fault.New(fault.NotFound, "commit %s is not in repository %s", commit, state.Shorten(b.repo.Name))
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		pw.CloseWithError(b.Archive(ctx, commit, pw))
	}()
	blob, err := blobs.Upload(ctx, pr, "", -1, nil)
	_ = pr.CloseWithError(io.ErrClosedPipe) // ends the archive when the upload stopped early
	return blob, err
}
