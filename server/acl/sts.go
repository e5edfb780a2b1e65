package acl

import (
	"context"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// trustNames are the trust entries a caller matches: "user/NAME" and "group/G" for each of the
// user's groups (a personal token or sign-in session), "role/NAME" (a role session), or
// "token/ACCESSOR" (a service token). source is how the role session names who assumed it.
func (s *Identity) trustNames(caller *auth.Identity) (names []string, source string, err error) {
	tk := caller.Token
	switch tk.Type {
	case pub.TokenTypeUser, pub.TokenTypeSession:
		u, err := s.User(tk.User)
		if err != nil {
			return nil, "", fault.New(fault.Forbidden, "user %s of this token no longer exists", tk.User)
		}
		names = append(names, KindUser+"/"+u.Name)
		for _, g := range u.Groups {
			names = append(names, KindGroup+"/"+g)
		}
		return names, KindUser + "/" + u.Name, nil
	case pub.TokenTypeRole:
		return []string{KindRole + "/" + tk.Role}, KindRole + "/" + tk.Role, nil
	}
	return []string{KindToken + "/" + tk.AccessorID}, KindToken + "/" + tk.AccessorID, nil
}

// trusts reports whether a role's trust list names one of the caller's names (entries may be
// globs: user/ci-*, group/*).
func trusts(trust, names []string) bool {
	for _, t := range trust {
		for _, n := range names {
			if ok, err := path.Match(t, n); err == nil && ok {
				return true
			}
		}
	}
	return false
}

// AssumeRole issues temporary credentials of a role to a caller the role trusts: a token of type
// role, acting with the role's policies only (narrowed by req.Policy, a session policy, when
// given), whose Source names the caller and which carries the caller's MFA over. A role with
// RequireMFA needs the caller to have signed in with MFA. The duration defaults to
// DefaultRoleSession and may not pass the role's MaxSession. The route's own policy check
// (sts:AssumeRole on the role, against the caller's policies) has already passed: both must hold.
func (s *Identity) AssumeRole(ctx context.Context, role string, req pub.AssumeRoleRequest, caller *auth.Identity) (pub.RoleCredentials, error) {
	r, err := s.Role(role)
	if err != nil {
		return pub.RoleCredentials{}, err
	}
	names, source, err := s.trustNames(caller)
	if err != nil {
		return pub.RoleCredentials{}, err
	}
	if !trusts(r.Trust, names) {
		return pub.RoleCredentials{}, fault.New(fault.Forbidden, "role %s does not trust %s: its trust list must name it (`slipway iam role create --trust %s`)", role, source, source)
	}
	if r.RequireMFA && !caller.Token.MFA {
		return pub.RoleCredentials{}, fault.New(fault.Forbidden, "role %s requires MFA: sign in with `slipway login` and your MFA code, then assume it", role)
	}
	max := r.MaxSession
	if max <= 0 {
		max = DefaultRoleSession
	}
	d := min(DefaultRoleSession, max)
	if req.Duration != "" {
		v, err := time.ParseDuration(req.Duration)
		if err != nil || v < time.Minute {
			return pub.RoleCredentials{}, fault.New(fault.Invalid, "duration %s is not a duration of at least 1m (such as 15m or 1h)", state.Shorten(req.Duration))
		}
		if v > max {
			return pub.RoleCredentials{}, fault.New(fault.Invalid, "duration %s is longer than role %s allows (%s): ask for %s or less", v, role, max, max)
		}
		d = v
	}
	name := req.SessionName
	if name == "" {
		name = strings.ReplaceAll(source, "/", " ") + " as " + role
	}
	if err := state.ValidateLabel("session name", name, true); err != nil {
		return pub.RoleCredentials{}, err
	}
	now := s.core.Now()
	tk := Token{AccessorID: uuid.NewString(), Name: name, Type: pub.TokenTypeRole, Role: role, Source: source,
		ExpirationTime: now.Add(d).UnixNano(), MFA: caller.Token.MFA}
	if caller.Token.MFA && caller.Token.MFATime != nil {
		tk.MFATime = caller.Token.MFATime.UnixNano()
	}
	if req.Policy != "" {
		doc, _, err := ParseDocument("session policy", req.Policy)
		if err != nil {
			return pub.RoleCredentials{}, err
		}
		tk.Scope = doc
	}
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
	cr := pub.RoleCredentials{Secret: out.SecretID, Accessor: out.AccessorID, Role: role, Source: source, MFA: out.MFA}
	if out.ExpirationTime != nil {
		cr.Expiration = *out.ExpirationTime
	}
	return cr, nil
}

// sessionTypes are the tokens logout ends: sign-in sessions and role sessions. Personal and
// service tokens are revoked by accessor (`slipway iam token delete`), never by logging out.
var sessionTypes = []string{pub.TokenTypeSession, pub.TokenTypeRole}

// Logout ends the session whose secret was presented: it authenticates nothing once the
// revocation is applied.
func (s *Identity) Logout(ctx context.Context, caller *auth.Identity) error {
	if !slices.Contains(sessionTypes, caller.Token.Type) {
		return fault.New(fault.Invalid, "token %s is a %s token, not a session: logout ends sessions only; revoke a token with `slipway token revoke %s`",
			caller.Token.AccessorID, caller.Token.Type, caller.Token.AccessorID)
	}
	_, err := command.Propose(ctx, s.core.Cluster, CmdRevokeToken, s.core.Now(), RevokeTokenPayload{AccessorID: caller.Token.AccessorID})
	return err
}
