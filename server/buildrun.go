package server

import (
	"context"
	"io"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/secrets"
)

// Archive writes a tar of commit's files in repo (build.Sources), for a build's agent: this
// server's copy, synced with the replicated refs first.
func (s buildSources) Archive(ctx context.Context, repo, commit string, w io.Writer) error {
	b, err := s.g.Browse(ctx, repo)
	if err != nil {
		return err
	}
	return b.Archive(ctx, commit, w)
}

// buildSecrets is the secrets service as the build service consumes it (build.Secrets): a
// build's agent reads its secret variables under the project's service role, decided by the
// role's policies and recorded in the audit trail by the secrets service.
type buildSecrets struct{ s *secrets.Service }

func (b buildSecrets) Value(ctx context.Context, name string, as *auth.Identity, origin api.Origin, requestID string) ([]byte, error) {
	v, err := b.s.Value(ctx, name, secrets.Reader{Identity: as, Origin: origin, RequestID: requestID})
	if err != nil {
		return nil, err
	}
	return v.Value, nil
}
