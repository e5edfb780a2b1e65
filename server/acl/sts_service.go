package acl

import (
	"context"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// ServiceSession issues a role session for a service acting as a role it was configured with
// (a build project's service_role: the build service asks for one per build that wants git
// credentials). Unlike AssumeRole there is no caller whose trust to check: the service is not a
// principal, and the check happened when the role was configured (whoever set a project's
// service_role had to be allowed to change the project, as for the secrets its builds read
// under the role). The token acts with the role's policies only, is named name, carries source
// as its Source (who acted as the role: "build/PROJECT:UUID") and expires after d, at most the
// role's MaxSession (DefaultRoleSession when d is not positive); it has no MFA. A role that
// requires MFA is refused: no service signs in with MFA.
func (s *Identity) ServiceSession(ctx context.Context, role, name, source string, d time.Duration) (pub.RoleCredentials, error) {
	r, err := s.Role(role)
	if err != nil {
		return pub.RoleCredentials{}, err
	}
	if r.RequireMFA {
		return pub.RoleCredentials{}, fault.New(fault.Forbidden, "role %s requires MFA, which no service session has: give the service a role without require_mfa", role)
	}
	max := r.MaxSession
	if max <= 0 {
		max = DefaultRoleSession
	}
	if d <= 0 {
		d = DefaultRoleSession
	}
	d = min(d, max)
	if err := state.ValidateLabel("session name", name, true); err != nil {
		return pub.RoleCredentials{}, err
	}
	if source == "" || len(source) > 512 {
		return pub.RoleCredentials{}, fault.New(fault.Invalid, "a service session needs a source of at most 512 bytes")
	}
	now := s.core.Now()
	tk := Token{AccessorID: uuid.NewString(), Name: name, Type: pub.TokenTypeRole, Role: role, Source: source,
		ExpirationTime: now.Add(d).UnixNano()}
	secret := auth.NewSecret()
	tk.SecretHash = auth.HashSecret(secret)
	res, err := command.Propose(ctx, s.core.Cluster, CmdCreateToken, now, CreateTokenPayload{Token: tk})
	if err != nil {
		return pub.RoleCredentials{}, err
	}
	out, err := created(res, secret)
	if err != nil {
		return pub.RoleCredentials{}, err
	}
	cr := pub.RoleCredentials{Secret: out.SecretID, Accessor: out.AccessorID, Role: role, Source: source}
	if out.ExpirationTime != nil {
		cr.Expiration = *out.ExpirationTime
	}
	return cr, nil
}
