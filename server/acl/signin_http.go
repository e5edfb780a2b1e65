package acl

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
)

// signIn is the module's one sign-in (its failure counts are shared by the API's login and the
// console's).
func (m *Module) signIn() *signIn {
	m.signInOnce.Do(func() { m.signin = newSignIn(m) })
	return m.signin
}

// SignIn signs in the user of an HTTP request (w carries the edge's request id) exactly as POST
// /v1/iam/login does: the same limits, lockout, second factor and audit records. It is the
// console's sign-in.
func (m *Module) SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, req pub.LoginRequest) (pub.Token, error) {
	out, _, err := m.signIn().loginHTTP(ctx, w, r, req)
	return out, err
}

// IsMFARequired reports whether a SignIn error asks for the second factor.
func IsMFARequired(err error) bool { return errors.Is(err, errMFARequired) }

// registerSignIn declares sign-in's routes and the bootstrap that makes the first administrator.
func (m *Module) registerSignIn(r *module.Registry) {
	module.Handle(r, CmdBootstrapAdmin, applyBootstrapAdmin)
	r.Routes(m.signInRoutes()...)
}

// signInRoutes are sign-in, logout, MFA enrolment and assume-role. Login and logout are Public
// at the edge: login takes a password, not a token; logout authenticates the bearer itself and
// can only end the session it presents, so that a user without any policy can always log out
// (no policy could be written that a session needs to end itself). Assume-role is Management
// (any principal whose policies allow sts:AssumeRole on the role passes; a client token with no
// policies never does) and the role's trust list must name the caller too.
func (m *Module) signInRoutes() []api.Route {
	k := func() *api.Kit { return m.core.HTTP }
	id := func() *Identity { return m.Identity() }
	name := func(r *http.Request) string { return r.PathValue("name") }
	si := m.signIn()
	return []api.Route{
		{Method: "POST", Pattern: "/v1/iam/login", Access: api.Public, Handle: si.handleLogin},
		{Method: "DELETE", Pattern: "/v1/sts/session", Access: api.Public, Handle: func(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
			caller, err := auth.Resolve(m.core.State, bearerSecret(r), m.core.Now())
			if err != nil {
				return err
			}
			return api.Remove(k(), func(ctx context.Context, _ *http.Request) error { return id().Logout(ctx, caller) })(w, r, caller)
		}},
		{Method: "POST", Pattern: "/v1/sts/roles/{name}/assume", Access: api.Management, Action: "sts:AssumeRole", Resource: api.SRNPrefix + "iam:role/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusOK, func(ctx context.Context, r *http.Request, req pub.AssumeRoleRequest) (pub.RoleCredentials, error) {
				return id().AssumeRole(ctx, name(r), req, c)
			})(w, r, c)
		}},
		{Method: "POST", Pattern: "/v1/iam/users/{name}/mfa", Access: api.Management, Action: "iam:EnableMFADevice", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusOK, func(ctx context.Context, r *http.Request, _ struct{}) (pub.MFAEnrollment, error) {
				return id().EnrollMFA(ctx, name(r))
			})(w, r, c)
		}},
		{Method: "POST", Pattern: "/v1/iam/users/{name}/mfa/confirm", Access: api.Management, Action: "iam:ConfirmMFADevice", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusOK, func(ctx context.Context, r *http.Request, req pub.MFAConfirmRequest) (pub.MFAConfirmation, error) {
				return id().ConfirmMFA(ctx, name(r), req)
			})(w, r, c)
		}},
		{Method: "DELETE", Pattern: "/v1/iam/users/{name}/mfa", Access: api.Management, Action: "iam:DeactivateMFADevice", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error { return id().DisableMFA(ctx, name(r)) })(w, r, c)
		}},
	}
}

// handleLogin serves POST /v1/iam/login. MFA required is a 401 with the code mfa_required (the
// CLI then asks for the code); too many failures from the address a 429 with Retry-After; a
// locked user a 403 (forbidden) saying until when.
func (s *signIn) handleLogin(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	var req pub.LoginRequest
	if err := s.core.HTTP.Decode(w, r, &req); err != nil {
		return err
	}
	ctx, cancel, err := s.core.HTTP.WriteContext(r, nil)
	if err != nil {
		return err
	}
	defer cancel()
	out, wait, err := s.loginHTTP(ctx, w, r, req)
	switch {
	case errors.Is(err, errMFARequired):
		s.core.HTTP.JSON(w, http.StatusUnauthorized, pub.ErrorBody{Error: pub.ErrorDetail{Code: pub.CodeMFARequired,
			Message: "user " + req.User + " has MFA enabled: give the code from your authenticator app (or a recovery code)"}})
		return nil
	case fault.CodeOf(err) == fault.TooMany:
		w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
		return err
	case err != nil:
		return err
	}
	s.core.HTTP.JSON(w, http.StatusOK, out)
	return nil
}

// sourceAddress is the key of the per-address sign-in limit: the peer's IP, or its /64 for
// IPv6 (one host usually has a whole /64).
func sourceAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// bearerSecret is the request's bearer token ("" when there is none).
func bearerSecret(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && (h[:len(p)] == p || h[:len(p)] == "bearer ") {
		return h[len(p):]
	}
	return ""
}

// actionSignIn is the audit trail's action of a sign-in (a public route: no policy decides it).
const actionSignIn = "iam:SignIn"

// UserSRN is a user's resource name, srn:slipway:iam:user/NAME.
func UserSRN(name string) string { return api.SRNPrefix + "iam:user/" + name }

// loginHTTP is the one sign-in of an HTTP request, the API's and the console's: the limits are
// keyed by the caller's address (its /64 for IPv6), and the sign-in is audited: the commands it
// proposes (the session, a code used up, a lock) carry the user as their caller (Login fills it
// in once the user is known), and a refusal is recorded under the name given (as anonymous: it
// proves no identity).
func (s *signIn) loginHTTP(ctx context.Context, w http.ResponseWriter, r *http.Request, req pub.LoginRequest) (pub.Token, time.Duration, error) {
	rid, src := s.core.HTTP.RequestID(w), api.SourceOf(r)
	ctx = command.WithCaller(ctx, &command.Caller{Action: actionSignIn, Source: src, RequestID: rid})
	out, wait, err := s.Login(ctx, req, sourceAddress(r))
	if err != nil && fault.CodeOf(err) != fault.Invalid {
		code := string(fault.CodeOf(err))
		if errors.Is(err, errMFARequired) {
			code = pub.CodeMFARequired
		}
		s.core.HTTP.Audit(audit.Record{Time: s.core.Now(), Principal: audit.Principal{Kind: audit.KindAnonymous, Name: req.User},
			Action: actionSignIn, Resource: UserSRN(req.User), Source: src, RequestID: rid, Outcome: audit.OutcomeDenied, ErrorCode: code})
	}
	return out, wait, err
}
