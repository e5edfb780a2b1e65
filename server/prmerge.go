package server

import (
	"context"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/review"
)

// prMerger is the git service's merge engine as the pull-request service consumes it
// (review.Merger). Its merges are a pull request's, whose approval rules the review service
// has checked: ViaPullRequest, so a branch protected with require-pr takes them.
type prMerger struct{ g *git.Module }

func (m prMerger) Mergeable(ctx context.Context, repo, source, dest, sourceCommit, destCommit, strategy string) ([]string, error) {
	res, err := m.g.Mergeable(ctx, git.MergeRequest{Repo: repo, Source: source, Destination: dest,
		SourceCommit: sourceCommit, DestinationCommit: destCommit, Strategy: git.MergeStrategy(strategy)})
	return res.Conflicts, err
}

// Merge runs under a request ID of its own, derived from the request's: the pull-request
// service proposes its pr.merge under the request's ID after it, and a command whose request ID
// was already applied answers that one's result (a client's retry). Derived, a retry of the
// whole request still finds both.
func (m prMerger) Merge(ctx context.Context, in review.MergeInput) (string, []string, error) {
	if rid := command.RequestIDFrom(ctx); rid != "" {
		ctx = command.WithRequestID(ctx, rid+"/git-merge")
	}
	res, err := m.g.Merge(ctx, git.MergeRequest{Repo: in.Repo, Source: in.Source, Destination: in.Destination,
		SourceCommit: in.SourceCommit, DestinationCommit: in.DestinationCommit, Strategy: git.MergeStrategy(in.Strategy),
		Message: in.Message, Author: git.Author{Name: in.AuthorName, Email: in.AuthorEmail}, ViaPullRequest: true})
	return res.Commit, res.Conflicts, err
}
