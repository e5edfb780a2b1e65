package git

import (
	"context"
	"errors"
	"strconv"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// What the pull-request service (server/review) reads of a repository besides the browse API:
// the merge base of a pull request's branches and the commits it brings.

// MergeBase returns the best common ancestor of commits a and b (full IDs, as Resolve returns
// them), "" when they share no history.
func (b *Browser) MergeBase(ctx context.Context, a, c string) (string, error) {
	if !isHexID(a) || !isHexID(c) {
		return "", fault.New(fault.Invalid, "a merge base is taken of two commit IDs: resolve %s and %s first", state.Shorten(a), state.Shorten(c))
	}
	out := &bounded{limit: 1024}
	err := b.g.Run(ctx, gitexec.Command{Args: []string{"merge-base", a, c}, GitDir: b.repo.Dir, Stdout: out})
	var ge *gitexec.Error
	switch {
	case errors.As(err, &ge) && ge.ExitCode() == 1:
		return "", nil
	case err != nil:
		return "", fault.New(fault.Internal, "git merge-base in repository %s: %v", state.Shorten(b.repo.Name), err)
	}
	id := strings.TrimSpace(out.buf.String())
	if !isHexID(id) {
		return "", fault.New(fault.Internal, "git merge-base answered %q", state.Shorten(id))
	}
	return id, nil
}

// Range returns the commits reachable from head and not from base (both full IDs; base "" is
// none: all of head's history), newest first, at most limit of them, and whether there were
// more.
func (b *Browser) Range(ctx context.Context, base, head string, limit int) ([]pub.Commit, bool, error) {
	if !isHexID(head) || (base != "" && !isHexID(base)) {
		return nil, false, fault.New(fault.Invalid, "a commit range is taken between two commit IDs: resolve %s and %s first", state.Shorten(base), state.Shorten(head))
	}
	args := []string{"log", logFormat, "--max-count=" + strconv.Itoa(limit+1), head}
	if base != "" {
		args = append(args, "^"+base)
	}
	out, cut, err := b.output(ctx, b.maxBytes(), "", append(args, "--")...)
	if err != nil {
		return nil, false, err
	}
	if cut {
		return nil, false, fault.New(fault.TooLarge, "%d commits of repository %s are over %d bytes with their messages", limit, state.Shorten(b.repo.Name), b.maxBytes())
	}
	list := parseLog(out)
	if len(list) > limit {
		return list[:limit], true, nil
	}
	return list, false, nil
}

// Changed returns the paths the diff from commit base to commit head touches (base "": the
// empty tree, for unrelated histories), in git's order: without rename detection, so a rename
// is both its old and its new path. At most limit paths, and whether there were more (or the
// output reached the browse bound).
func (b *Browser) Changed(ctx context.Context, base, head string, limit int) ([]string, bool, error) {
	if base == "" {
		base = emptyTree
	}
	if !isHexID(base) || !isHexID(head) {
		return nil, false, fault.New(fault.Invalid, "changed paths are listed between two commit IDs: resolve %s and %s first", state.Shorten(base), state.Shorten(head))
	}
	args := append(append([]string(nil), diffArgs...), "--name-only", "-z", base, head, "--")
	out, cut, err := b.output(ctx, b.maxBytes(), "", args...)
	if err != nil {
		return nil, false, err
	}
	recs := strings.Split(string(out), "\x00")
	recs = recs[:len(recs)-1] // after the last NUL: "" or, when cut, an incomplete path
	if len(recs) > limit {
		return recs[:limit], true, nil
	}
	return recs, cut, nil
}
