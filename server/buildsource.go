package server

import (
	"context"
	"io"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/secrets"
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

func (s buildSources) Archive(ctx context.Context, repo, commit string, w io.Writer) error {
	b, err := s.g.Browse(ctx, repo)
	if err != nil {
		return err
	}
	return b.Archive(ctx, commit, w)
}

// buildSecrets is the secrets service as the build service consumes it (build.Secrets): a
// build's agent reads its secret variables under the project's service role.
type buildSecrets struct{ s *secrets.Service }

func (b buildSecrets) Value(ctx context.Context, name string, as *auth.Identity, origin api.Origin, requestID string) ([]byte, error) {
	v, err := b.s.Value(ctx, name, secrets.Reader{Identity: as, Origin: origin, RequestID: requestID})
	if err != nil {
		return nil, err
	}
	return v.Value, nil
}
