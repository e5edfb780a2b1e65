package server

import (
	"context"

	"github.com/slipwayhq/slipway/server/git"
)

// buildSources is the git service's repositories as the build service consumes them
// (build.Sources): a project's repository must exist, and a build's source version resolves to
// the commit it names on this server's copy, synced with the replicated refs first.
type buildSources struct{ g *git.Module }

func (s buildSources) Check(ctx context.Context, repo string) error {
	_, err := s.g.Repos().Get(ctx, repo)
	return err
}

func (s buildSources) Resolve(ctx context.Context, repo, version string) (string, error) {
	b, err := s.g.Browse(ctx, repo)
	if err != nil {
		return "", err
	}
	return b.Resolve(ctx, version)
}
