package git

import (
	"context"
	"io"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// Archive writes a tar of commit's files to w (git archive), for the build service's agents
// (server/buildsource.go). commit must be a full commit ID (a build's resolved source version);
// anything else is fault.Invalid, one the copy does not have fault.NotFound. Callers authorize
// first.
func (b *Browser) Archive(ctx context.Context, commit string, w io.Writer) error {
	if !isHexID(commit) {
		return fault.New(fault.Invalid, "commit %q is not a full commit ID", state.Shorten(commit))
	}
	if _, typ, _, err := b.object(ctx, commit, ""); err != nil || typ != "tree" {
		return fault.New(fault.NotFound, "commit %s is not in repository %s", commit, state.Shorten(b.repo.Name))
	}
	if err := b.g.Run(ctx, gitexec.Command{Args: []string{"archive", "--format=tar", commit}, GitDir: b.repo.Dir, Stdout: w}); err != nil {
		return fault.New(fault.Internal, "archiving commit %s of repository %s: %v", commit, state.Shorten(b.repo.Name), err)
	}
	return nil
}
