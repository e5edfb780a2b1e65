package server

import (
	"context"
	"io"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/acl"

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

// buildRoleSessions is the identity service as the build service consumes it
// (build.RoleSessions): role sessions of a project's service role for its builds' git commands,
// revoked when the build ends.
// The identity module's Go APIs are read at each call: they exist once it is registered.
type buildRoleSessions struct{ m *acl.Module }

func (b buildRoleSessions) Issue(ctx context.Context, role, name, source string, d time.Duration) (pub.RoleCredentials, error) {
	return b.m.Identity().ServiceSession(ctx, role, name, source, d)
}

func (b buildRoleSessions) Revoke(ctx context.Context, accessor string) error {
	return b.m.Tokens().Revoke(ctx, accessor)
}
