package providers

import (
	"context"

	"github.com/slipwayhq/slipway/server/git"
)

// Changes is the git service as the pipeline trigger reads it (pipeline.Changes): this
// server's copies, synced with the replicated refs first.
type Changes struct{ git *git.Module }

// ChangedPaths implements pipeline.Changes (git.Browser.ChangedPaths).
func (c Changes) ChangedPaths(ctx context.Context, repo, old, new string, max int) ([]string, bool, error) {
	b, err := c.git.Browse(ctx, repo)
	if err != nil {
		return nil, false, err
	}
	return b.ChangedPaths(ctx, old, new, max)
}

// Resolve implements pipeline.Changes (git.Browser.Resolve).
func (c Changes) Resolve(ctx context.Context, repo, version string) (string, error) {
	b, err := c.git.Browse(ctx, repo)
	if err != nil {
		return "", err
	}
	return b.Resolve(ctx, version)
}
