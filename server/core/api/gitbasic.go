package api

import (
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
)

// BasicRealm is the realm of the WWW-Authenticate challenge of GitBasic routes.
const BasicRealm = "Slipway"

// basicSecret is the password of the request's HTTP basic credentials ("" when it has none):
// git over HTTP sends the token secret there, under any user name.
func basicSecret(r *http.Request) string {
	_, pw, ok := r.BasicAuth()
	if !ok {
		return ""
	}
	return pw
}

// resolveGitBasic authenticates a GitBasic request: the basic password is a token secret,
// resolved as auth.Resolve resolves a bearer secret.
func resolveGitBasic(st auth.Reader, r *http.Request, now time.Time) (*auth.Identity, error) {
	secret := strings.TrimSpace(basicSecret(r))
	if secret == "" {
		return nil, fault.New(fault.Unauthorized, "git over HTTP needs credentials: HTTP basic with any user name and a token secret (a personal access token, a session token or a management token) as the password")
	}
	id, err := auth.Resolve(st, secret, now)
	if err != nil {
		return nil, fault.New(fault.Unauthorized, "the password is not a valid token (unknown, revoked or expired): use a personal access token or a session token (slipway login)")
	}
	return id, nil
}

// challengeBasic adds the basic challenge to a GitBasic refusal for want of a credential, so
// that git asks its credential helper (or the user) and, after a wrong one, reports
// "Authentication failed".
func challengeBasic(w http.ResponseWriter, err error) {
	if fault.CodeOf(err) == fault.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+BasicRealm+`"`)
	}
}

// deferAuthorization prepares a route that authorizes in its handler: its resource resolved
// and the caller's principal, as authorize returns them, without a decision.
func (s *Server) deferAuthorization(rt *routeEntry, r *http.Request, id *auth.Identity) (audit.Principal, string, error) {
	resource, err := rt.resolve(r)
	return s.cfg.Policies.GrantsFor(id).Principal, resource, err
}

// Authorize decides, in a handler, what the edge could not decide before the handler read the
// request (Route.HandlerAuthorizes): whether id's policies allow action on resource (a name
// without its srn: prefix is qualified under the action's service) with the request's context
// plus extra (slipway:ReferenceName for a git push, one call per ref). It evaluates exactly as
// the edge does, MFA hint included, and a denial is audited as the edge audits one (outcome
// denied, under the request's id) and returned as the Forbidden error the edge would answer.
// w is the handler's writer (it carries the request id).
func (k *Kit) Authorize(w http.ResponseWriter, r *http.Request, id *auth.Identity, action, resource string, extra ...policy.ContextValue) error {
	s := k.s
	resource = SRN(action, resource)
	g := s.cfg.Policies.GrantsFor(id)
	err := s.decide(originOf(r), id, g, action, resource, extra...)
	if err == nil {
		return nil
	}
	s.auditDenied(r, w.Header().Get(HeaderRequestID), g.Principal, action, resource, err)
	return err
}

// AuthorizeAny is Authorize before the value of the condition key unknown is known: nil when
// id's policies may allow action on resource for SOME value of it (policy.Request.Unknown: a
// condition on the key holds in an Allow and never lets a Deny decide), the audited Forbidden
// error when none can be. A git push asks it for slipway:ReferenceName before it reads which
// refs the push moves, then Authorize for each ref.
func (k *Kit) AuthorizeAny(w http.ResponseWriter, r *http.Request, id *auth.Identity, action, resource, unknown string, extra ...policy.ContextValue) error {
	s := k.s
	resource = SRN(action, resource)
	g := s.cfg.Policies.GrantsFor(id)
	err := s.decideUnknown(originOf(r), id, g, action, resource, unknown, extra...)
	if err == nil {
		return nil
	}
	s.auditDenied(r, w.Header().Get(HeaderRequestID), g.Principal, action, resource, err)
	return err
}

// AuthorizeFrom decides as Authorize does, for a request that did not come over HTTP (git over
// SSH): o is where it came from. It records nothing; it returns the caller's principal, for the
// caller's audit record, and nil or the Forbidden error to report.
func (k *Kit) AuthorizeFrom(o Origin, id *auth.Identity, action, resource string, extra ...policy.ContextValue) (audit.Principal, error) {
	s := k.s
	g := s.cfg.Policies.GrantsFor(id)
	return g.Principal, s.decide(o, id, g, action, SRN(action, resource), extra...)
}

// AuthorizeAnyFrom is AuthorizeAny for a request that did not come over HTTP (git over SSH):
// it records nothing, and returns the caller's principal for the caller's audit record.
func (k *Kit) AuthorizeAnyFrom(o Origin, id *auth.Identity, action, resource, unknown string, extra ...policy.ContextValue) (audit.Principal, error) {
	s := k.s
	g := s.cfg.Policies.GrantsFor(id)
	return g.Principal, s.decideUnknown(o, id, g, action, SRN(action, resource), unknown, extra...)
}

// WriteTimeout is the server's write timeout: how long a write may wait for the cluster
// (WriteContext bounds an HTTP request's proposals by it).
func (k *Kit) WriteTimeout() time.Duration { return k.s.cfg.WriteTimeout }

// Seen marks a request that did not come over HTTP (git over SSH) as the edge marks an
// authorized one: the principal's activity for the active-users report. resource is a full name.
func (k *Kit) Seen(who audit.Principal, action, resource, source, requestID string) {
	k.s.cfg.Audit.Seen(who, action, resource, source, requestID, k.s.cfg.Now())
}

// NewRequestID is a request id as the edge gives every HTTP request, for a request that did not
// come over HTTP (git over SSH): it names the request in the audit trail and the logs.
func (k *Kit) NewRequestID() string { return k.s.rids.next() }

// AuthFailed counts a failed authentication that did not come over HTTP (git over SSH: a key
// no user has) against its address's budget of failed authentications, the one the HTTP edge
// keeps (limits.auth_failures per limits.auth_failure_window, and the server-wide bound), and
// returns how long the address must now wait (0 while it is within its budget).
func (k *Kit) AuthFailed(addr netip.Addr) time.Duration {
	wait, _ := k.s.fails.fail(addrKey(addr))
	return wait
}

// AuthLimited returns how long addr must wait before it may try to authenticate again, 0 when
// it may now (see AuthFailed).
func (k *Kit) AuthLimited(addr netip.Addr) time.Duration {
	_, wait := k.s.fails.limited(addrKey(addr))
	return wait
}
