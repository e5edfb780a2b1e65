package api

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Grants is what an authenticated caller may do: who it is (as the audit trail names it and as
// policies see it in slipway:PrincipalType and slipway:PrincipalName), the policies that apply
// to it (its own, its groups', the ones attached to it), and, when Scope is not nil, a boundary
// that must allow a request too (a token's narrowing policy). MFA says the credential was opened
// with a second factor (at MFATime); MFAEnrolled that the principal has one, which the
// administrator policy's MFA-protected operations depend on.
type Grants struct {
	Principal   audit.Principal
	Policies    []*policy.Policy
	Scope       []*policy.Policy
	MFA         bool
	MFATime     time.Time
	MFAEnrolled bool
}

// Policies resolves a token-authenticated caller's grants. The edge evaluates a route's Action
// and Resource against them; no policies deny everything. Implementations must be safe for
// concurrent use, fast (they run on every request: cache what is compiled) and must not let
// callers modify what they return.
type Policies interface {
	GrantsFor(id *auth.Identity) Grants
}

// TokenTypePolicies maps the service tokens onto the built-in managed policies: a management
// token has AdministratorAccess, a client (read-only) token ReadOnlyAccess. Any other identity
// has none. It is Config.Policies when none is given (the identity service gives the real one).
type TokenTypePolicies struct{}

var builtinByType = sync.OnceValue(func() map[string][]*policy.Policy {
	out := map[string][]*policy.Policy{}
	for typ, name := range map[string]string{
		pub.TokenTypeManagement: policy.AdministratorAccess,
		pub.TokenTypeClient:     policy.ReadOnlyAccess,
	} {
		if p, ok := policy.Managed(name); ok {
			out[typ] = []*policy.Policy{p}
		}
	}
	return out
})

// BuiltinPolicies returns the built-in policy of a service token's type (shared: callers must
// not modify it); nil for other types.
func BuiltinPolicies(tokenType string) []*policy.Policy { return builtinByType()[tokenType] }

// GrantsFor returns the token type's built-in policy.
func (TokenTypePolicies) GrantsFor(id *auth.Identity) Grants {
	if id == nil || id.Host != nil || id.HostToken != nil {
		return Grants{}
	}
	return Grants{Principal: TokenPrincipal(id.Token), Policies: BuiltinPolicies(id.Token.Type)}
}

// TokenPrincipal is a service token as a principal.
func TokenPrincipal(tk state.Token) audit.Principal {
	return audit.Principal{Kind: audit.KindToken, ID: tk.AccessorID, Name: tk.Name}
}

// principalType is slipway:PrincipalType for a principal kind: "User", "Token", "Role".
func principalType(k audit.Kind) string {
	switch k {
	case audit.KindUser:
		return "User"
	case audit.KindRole:
		return "Role"
	case audit.KindHost:
		return "Host"
	}
	return "Token"
}

// resourcePart is one piece of a route's resource template: literal text, or the name of a
// path value ({name}, or {key...} when rest is set: a value that may hold '/').
type resourcePart struct {
	lit  string
	name string
	rest bool
}

// resourceTemplate is a route's Resource parsed once, when the route table is built.
type resourceTemplate []resourcePart

// parseResource splits a Resource ("app/{app}/group/{name}") into literals and placeholders.
// Every placeholder must be a wildcard of the route's pattern, with the same "..." form.
func parseResource(resource, pattern string) (resourceTemplate, error) {
	var t resourceTemplate
	s := resource
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			t = append(t, resourcePart{lit: s})
			break
		}
		if s[i] == '}' {
			return nil, fmt.Errorf("resource %q has an unmatched '}'", resource)
		}
		if i > 0 {
			t = append(t, resourcePart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("resource %q has an unmatched '{'", resource)
		}
		ph := s[i : i+j+1]
		name := strings.TrimSuffix(ph[1:len(ph)-1], "...")
		if name == "" || strings.ContainsAny(name, "{/") {
			return nil, fmt.Errorf("resource %q: %q is not a placeholder", resource, ph)
		}
		if !strings.Contains(pattern, "/"+ph) {
			return nil, fmt.Errorf("resource %q: placeholder %s is not a wildcard of the pattern %q", resource, ph, pattern)
		}
		t = append(t, resourcePart{name: name, rest: strings.HasSuffix(ph, "...}")})
		s = s[i+j+1:]
	}
	return t, nil
}

// SRNPrefix starts every Slipway resource name: "srn:slipway:SERVICE:RESOURCE", SERVICE being
// the action's namespace ("srn:slipway:codedeploy:app/shop" for codedeploy:GetApplication).
const SRNPrefix = "srn:slipway:"

// SRN is the full resource name of a route's resource for its action: "app/shop" under
// "codedeploy:GetApplication" is "srn:slipway:codedeploy:app/shop". An empty resource stays empty.
func SRN(action, resource string) string {
	if resource == "" || strings.HasPrefix(resource, SRNPrefix) {
		return resource
	}
	ns, _, _ := strings.Cut(action, ":")
	return SRNPrefix + ns + ":" + resource
}

// qualified returns the template of the full resource name under action: its first literal
// prefixed by the SRN, so that a template without placeholders stays one literal. A route that
// acts on another service's resource (sts:AssumeRole on an IAM role) declares the full name,
// "srn:slipway:iam:role/{name}", which stays as it is.
func (t resourceTemplate) qualified(action string) resourceTemplate {
	if len(t) == 0 || (t[0].name == "" && strings.HasPrefix(t[0].lit, SRNPrefix)) {
		return t
	}
	prefix := SRN(action, "x")
	prefix = prefix[:len(prefix)-1]
	out := make(resourceTemplate, 0, len(t)+1)
	if t[0].name == "" {
		out = append(out, resourcePart{lit: prefix + t[0].lit})
		return append(out, t[1:]...)
	}
	out = append(out, resourcePart{lit: prefix})
	return append(out, t...)
}

// fill builds the resource name from the request's path values, as they are (nothing is
// escaped or cleaned). A name over policy.MaxRequestBytes is refused as bad input here rather
// than denied by Evaluate, so a management token still gets 400 for a 5 KiB key. A value of a one-segment placeholder holding '/' (sent as %2F) is refused:
// no name Slipway gives has one, and it would make the resource name look like another kind
// ("app/shop/group/prod" from an application named "shop/group/prod").
func (t resourceTemplate) fill(r *http.Request) (string, error) {
	if len(t) == 1 && t[0].name == "" {
		return t[0].lit, nil // no placeholder: no allocation
	}
	var b strings.Builder
	for _, p := range t {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		v := r.PathValue(p.name)
		if !p.rest && strings.IndexByte(v, '/') >= 0 {
			return "", fault.New(fault.Invalid, "path value {%s} %s must not contain '/' (no name in Slipway has one): send the name itself, not a path", p.name, state.Shorten(v))
		}
		b.WriteString(v)
	}
	if b.Len() > policy.MaxRequestBytes {
		return "", fault.New(fault.Invalid, "the path names a resource of %d bytes; at most %d are allowed", b.Len(), policy.MaxRequestBytes)
	}
	return b.String(), nil
}

// Authorize decides a request on the route METHOD pattern (as Routes lists it) for an
// authenticated token as the edge does, policies and the Management gate included: nil when
// allowed, else the Forbidden error the caller would get. r supplies the path values
// (r.SetPathValue) and the context; it is for tools and tests (the route table test, `iam
// simulate` later). A route that is not AnyToken or Management is refused: its own rules decide.
func (s *Server) Authorize(method, pattern string, r *http.Request, id *auth.Identity) error {
	rt, ok := s.entries[method+" "+pattern]
	if !ok {
		return fault.New(fault.NotFound, "no such route: %s %s", method, pattern)
	}
	if rt.Access != AnyToken && rt.Access != Management {
		return fault.New(fault.Invalid, "%s %s does not take an API token", method, pattern)
	}
	if _, _, err := s.authorize(rt, r, id); err != nil {
		return err
	}
	if rt.Access == Management && !managementGate(id) {
		return fault.New(fault.Forbidden, "%s %s needs a management token; token %q is a %s token", method, pattern, id.Token.Name, id.Token.Type)
	}
	return nil
}

// authorize decides a token-authenticated request (Access AnyToken or Management) by policy:
// the caller's grants (Config.Policies) against the route's Action, its Resource filled from
// the path, and the request context (slipway:SourceIp, slipway:CurrentTime,
// slipway:MultiFactorAuthPresent, slipway:MultiFactorAuthAge, slipway:MultiFactorAuthEnrolled,
// slipway:SecureTransport, slipway:PrincipalType, slipway:PrincipalName). It returns the
// grants' principal and the full resource name for the audit trail. A denial is Forbidden
// naming the action and the resource, never what a policy says; when a second factor would have
// allowed it, the message says MFA is required.
func (s *Server) authorize(rt *routeEntry, r *http.Request, id *auth.Identity) (audit.Principal, string, error) {
	resource, err := rt.resolve(r)
	g := s.cfg.Policies.GrantsFor(id)
	if err != nil {
		return g.Principal, resource, err
	}
	return g.Principal, resource, s.decide(originOf(r), id, g, rt.Action, resource)
}

// Origin is what a decision needs to know of where a request came from, whatever its
// protocol: the client's address (the zero Addr when it has none) and whether the transport
// is encrypted (slipway:SecureTransport). HTTP requests have theirs from the request; the git
// SSH server gives its connection's.
type Origin struct {
	Addr   netip.Addr
	Secure bool
}

// originOf is an HTTP request's origin.
func originOf(r *http.Request) Origin {
	a, _ := clientAddr(r)
	return Origin{Addr: a, Secure: r.TLS != nil}
}

// decide is the edge's decision on action over resource (a full name) for the grants g of id,
// with the request's context plus extra values (slipway:ReferenceName for a git push): nil when
// allowed, else the Forbidden error to answer, naming the action, the resource and the extra
// values, never what a policy says; when a second factor would have allowed it, the message
// says MFA is required. The route edge and Kit.Authorize both decide through it.
func (s *Server) decide(o Origin, id *auth.Identity, g Grants, action, resource string, extra ...policy.ContextValue) error {
	return s.decideUnknown(o, id, g, action, resource, "", extra...)
}

// decideUnknown is decide with a condition key whose value is not known yet (unknown, ""
// for none: policy.Request.Unknown): nil when some value of it may be allowed.
func (s *Server) decideUnknown(o Origin, id *auth.Identity, g Grants, action, resource, unknown string, extra ...policy.ContextValue) error {
	var buf [12]policy.ContextValue
	req := s.authRequest(append(buf[:0], extra...), action, resource, o, g, g.MFA)
	req.Unknown = unknown
	if Decide(req, g).Allowed() {
		return nil
	}
	what := resourceText(resource)
	for _, v := range extra {
		what += ", " + v.Key + "=" + resourceText(v.Value)
	}
	who := principalText(g.Principal, id)
	mfa := s.authRequest(append(buf[:0], extra...), action, resource, o, g, true)
	mfa.Unknown = unknown
	if !g.MFA && g.MFAEnrolled && Decide(mfa, g).Allowed() {
		return fault.New(fault.Forbidden, "not allowed: %s on %s (%s) without multi-factor authentication: MFA is required; sign in again with `slipway login` and your MFA code",
			action, what, who)
	}
	return fault.New(fault.Forbidden, "not allowed: %s on %s (%s)", action, what, who)
}

// Decide evaluates req against the grants as the edge does: the policies must allow it, and the scope too when
// there is one.
func Decide(req policy.Request, g Grants) policy.Decision {
	d := policy.Evaluate(req, g.Policies...)
	if d.Allowed() && g.Scope != nil {
		if sd := policy.Evaluate(req, g.Scope...); !sd.Allowed() {
			return sd
		}
	}
	return d
}

// principalText names the caller in a denial: `user "ana"`, `role "deployer"`, or `token "ci",
// a client token`.
func principalText(p audit.Principal, id *auth.Identity) string {
	switch p.Kind {
	case audit.KindUser, audit.KindRole:
		return fmt.Sprintf("%s %q", p.Kind, p.Name)
	}
	return fmt.Sprintf("token %q, a %s token", id.Token.Name, id.Token.Type)
}

// authRequest builds the policy request for an authenticated caller into ctx's storage.
func (s *Server) authRequest(ctx []policy.ContextValue, action, resource string, o Origin, g Grants, mfa bool) policy.Request {
	if o.Addr.IsValid() {
		ctx = append(ctx, policy.ContextValue{Key: policy.KeySourceIP, Value: o.Addr.String()})
	}
	secure, present, enrolled := "false", "false", "false"
	if o.Secure {
		secure = "true"
	}
	if mfa {
		present = "true"
	}
	if g.MFAEnrolled {
		enrolled = "true"
	}
	now := s.cfg.Now().UTC()
	ctx = append(ctx,
		policy.ContextValue{Key: policy.KeyCurrentTime, Value: now.Format(time.RFC3339)},
		policy.ContextValue{Key: policy.KeyMultiFactorAuthPresent, Value: present},
		policy.ContextValue{Key: policy.KeyMultiFactorAuthEnrolled, Value: enrolled},
		policy.ContextValue{Key: policy.KeySecureTransport, Value: secure},
		policy.ContextValue{Key: policy.KeyPrincipalType, Value: principalType(g.Principal.Kind)},
		policy.ContextValue{Key: policy.KeyPrincipalName, Value: g.Principal.Name},
	)
	if mfa && !g.MFATime.IsZero() {
		ctx = append(ctx, policy.ContextValue{Key: policy.KeyMultiFactorAuthAge, Value: strconv.FormatInt(int64(now.Sub(g.MFATime)/time.Second), 10)})
	}
	return policy.Request{Action: action, Resource: resource, Context: ctx}
}

// resolve names the request's full resource: the route's resolver's answer, or its template
// filled from the path.
func (rt *routeEntry) resolve(r *http.Request) (string, error) {
	if rt.ResolveResource == nil {
		return rt.resource.fill(r)
	}
	res, err := rt.ResolveResource(r)
	if err != nil {
		return "", err
	}
	if len(res) > policy.MaxRequestBytes {
		return "", fault.New(fault.Invalid, "the request names a resource of %d bytes; at most %d are allowed", len(res), policy.MaxRequestBytes)
	}
	return SRN(rt.Action, res), nil
}

// resourceText is a resource name for a message: as it is when short and plain (printable
// ASCII, no spaces), else quoted and shortened by state.Shorten.
func resourceText(s string) string {
	if len(s) > 128 {
		return state.Shorten(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' {
			return state.Shorten(s)
		}
	}
	return s
}

// managementGate is the access-level backstop under policies: a client (read-only) service
// token with no policies attached never reaches a Management route, whatever the policy table
// says. Every other principal is decided by its policies alone.
func managementGate(id *auth.Identity) bool {
	return id.Token.Type != pub.TokenTypeClient || len(id.Token.Policies) > 0
}
