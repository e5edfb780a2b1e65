package server

import (
	"context"

	pub "github.com/slipwayhq/slipway/pkg/api"
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

// buildStatuses is the git service's commit statuses as the build service sets them
// (build.Statuses): a build's commit gets the status of context slipway/build/PROJECT, which
// branch protection's required statuses can name.
type buildStatuses struct{ g *git.Module }

// statusCreator is the creator the commit statuses of builds show.
const statusCreator = "slipway-build"

func (s buildStatuses) Set(ctx context.Context, repo, commit string, req pub.CommitStatusRequest) error {
	_, err := s.g.Repos().SetStatus(ctx, repo, commit, statusCreator, req)
	return err
}

func (s buildStatuses) Latest(ctx context.Context, repo, commit, context string) (pub.CommitStatus, bool, error) {
	l, err := s.g.Repos().Statuses(ctx, repo, commit)
	if err != nil {
		return pub.CommitStatus{}, false, err
	}
	for _, st := range l.Latest {
		if st.Context == context {
			return st, true, nil
		}
	}
	return pub.CommitStatus{}, false, nil
}
