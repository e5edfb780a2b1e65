package acl

import (
	"net/http"
	"sort"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// simulateRoute is POST /v1/iam/simulate: what `slipway iam simulate` asks. It is full access
// only (no Get/List verb: it discloses which statement decides), so the route is Management and
// ReadOnlyAccess does not allow it.
func (m *Module) simulateRoute() api.Route {
	return api.Route{Method: "POST", Pattern: "/v1/iam/simulate", Access: api.Management, Action: "iam:SimulatePrincipalPolicy", Resource: "principal/*",
		Handle: func(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
			k := m.core.HTTP
			var req pub.SimulateRequest
			if err := k.Decode(w, r, &req); err != nil {
				return err
			}
			if err := k.ReadBarrier(r); err != nil {
				return err
			}
			res, err := m.Identity().Simulate(req)
			if err != nil {
				return err
			}
			k.JSON(w, http.StatusOK, res)
			return nil
		}}
}

// principalGrants are a simulated principal's policies and, for a narrowed token, its scope.
type principalGrants struct {
	kind, name string // PrincipalType and PrincipalName as the edge would give them
	policies   []*policy.Policy
	scope      []*policy.Policy
	mfa        bool // the principal has MFA enrolled
}

// simulatedGrants resolves a principal named "user/NAME", "group/NAME", "token/ACCESSOR" or
// "role/NAME" to the policies the edge would evaluate for it, the way the Authorizer does: a
// user as their personal access token (own, groups' and the self-service policy), a group as
// its attached policies alone, a token as itself (a user's token or session as that user
// narrowed by its scope), a role as a session of it. A principal that does not exist is not
// found.
func simulatedGrants(tx *state.Tx, principal string) (principalGrants, error) {
	kind, name, ok := strings.Cut(principal, "/")
	if !ok || name == "" {
		return principalGrants{}, fault.New(fault.Invalid, "principal %s is not user/NAME, group/NAME, token/ACCESSOR or role/NAME", state.Shorten(principal))
	}
	switch kind {
	case KindUser:
		u, err := getUser(tx, name)
		if err != nil {
			return principalGrants{}, err
		}
		return fromGrants(resolve(tx, &state.Token{Type: pub.TokenTypeUser, User: u.Name})), nil
	case KindGroup:
		g, err := getGroup(tx, name)
		if err != nil {
			return principalGrants{}, err
		}
		return principalGrants{kind: "Group", name: g.Name, policies: policyCompiler{tx: tx}.all(g.Policies)}, nil
	case KindRole:
		r, err := getRole(tx, name)
		if err != nil {
			return principalGrants{}, err
		}
		return fromGrants(resolve(tx, &state.Token{Type: pub.TokenTypeRole, Role: r.Name})), nil
	case KindToken:
		tk, err := tx.GetToken(name)
		if err != nil {
			return principalGrants{}, err
		}
		return fromGrants(resolve(tx, &tk)), nil
	}
	return principalGrants{}, fault.New(fault.Invalid, "principal %s is not user/NAME, group/NAME, token/ACCESSOR or role/NAME", state.Shorten(principal))
}

func fromGrants(g api.Grants) principalGrants {
	kind := "Token"
	switch g.Principal.Kind {
	case audit.KindUser:
		kind = "User"
	case audit.KindRole:
		kind = "Role"
	}
	return principalGrants{kind: kind, name: g.Principal.Name, policies: g.Policies, scope: g.Scope, mfa: g.MFAEnrolled}
}

// Simulate decides an action on a resource for a principal as the API edge would, without doing
// it, and names the deciding policy and statement (as `aws iam simulate-principal-policy`
// does). The resource is a full name (srn:slipway:codedeploy:app/shop) or one relative to the
// action's service (app/shop). The request context holds what req.Context gives, then, for keys
// it does not give: slipway:CurrentTime (now), slipway:PrincipalType and slipway:PrincipalName
// (the principal's), slipway:MultiFactorAuthEnrolled (whether it has MFA) and
// slipway:MultiFactorAuthPresent "false". A personal token's scope must allow too: when it does
// not, its decision (policy "token scope") is the answer.
func (s *Identity) Simulate(req pub.SimulateRequest) (pub.SimulateResult, error) {
	if err := checkSimulate(req); err != nil {
		return pub.SimulateResult{}, err
	}
	resource := api.SRN(req.Action, req.Resource)
	var d policy.Decision
	err := s.view(func(tx *state.Tx) error {
		g, err := simulatedGrants(tx, req.Principal)
		if err != nil {
			return err
		}
		preq := policy.Request{Action: req.Action, Resource: resource, Context: simulateContext(req.Context, g, s.core.Now())}
		d = policy.Evaluate(preq, g.policies...)
		if d.Allowed() && g.scope != nil {
			if sd := policy.Evaluate(preq, g.scope...); !sd.Allowed() {
				d = sd
			}
		}
		return nil
	})
	if err != nil {
		return pub.SimulateResult{}, err
	}
	out := pub.SimulateResult{Decision: decisionText(d.Outcome), Action: req.Action, Resource: resource}
	if d.Outcome == policy.Allowed || d.Outcome == policy.ExplicitDeny {
		out.Policy, out.Sid, out.Statement = d.Policy, d.Sid, d.Statement
	}
	return out, nil
}

func decisionText(o policy.Outcome) string {
	switch o {
	case policy.Allowed:
		return pub.SimulateAllowed
	case policy.ExplicitDeny:
		return pub.SimulateExplicitDeny
	}
	return pub.SimulateImplicitDeny
}

// checkSimulate bounds a simulation request as the edge bounds a real one.
func checkSimulate(req pub.SimulateRequest) error {
	if req.Principal == "" || req.Action == "" || req.Resource == "" {
		return fault.New(fault.Invalid, "a simulation needs a principal (user/NAME, group/NAME, token/ACCESSOR or role/NAME), an action (codedeploy:GetApplication) and a resource (srn:slipway:codedeploy:app/shop)")
	}
	if !strings.Contains(req.Action, ":") {
		return fault.New(fault.Invalid, "action %s is not service:Verb, such as codedeploy:GetApplication", state.Shorten(req.Action))
	}
	if len(req.Context) > policy.MaxContextValues-8 {
		return fault.New(fault.Invalid, "the context has %d keys; at most %d are allowed", len(req.Context), policy.MaxContextValues-8)
	}
	for _, v := range append([]string{req.Principal, req.Action, req.Resource}, contextStrings(req.Context)...) {
		if len(v) > policy.MaxRequestBytes {
			return fault.New(fault.Invalid, "a principal, action, resource or context key or value has %d bytes; at most %d are allowed", len(v), policy.MaxRequestBytes)
		}
	}
	return nil
}

func contextStrings(m map[string]string) []string {
	out := make([]string, 0, 2*len(m))
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

// simulateContext is the request context: the given keys in key order (so the answer does not
// depend on map order), then the defaults for keys not given.
func simulateContext(given map[string]string, g principalGrants, now time.Time) []policy.ContextValue {
	keys := make([]string, 0, len(given))
	for k := range given {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ctx := make([]policy.ContextValue, 0, len(keys)+5)
	for _, k := range keys {
		ctx = append(ctx, policy.ContextValue{Key: k, Value: given[k]})
	}
	enrolled := "false"
	if g.mfa {
		enrolled = "true"
	}
	// Evaluate takes the first value of a key, so these count only where the caller gave none.
	return append(ctx,
		policy.ContextValue{Key: policy.KeyCurrentTime, Value: now.UTC().Format(time.RFC3339)},
		policy.ContextValue{Key: policy.KeyPrincipalType, Value: g.kind},
		policy.ContextValue{Key: policy.KeyPrincipalName, Value: g.name},
		policy.ContextValue{Key: policy.KeyMultiFactorAuthEnrolled, Value: enrolled},
		policy.ContextValue{Key: policy.KeyMultiFactorAuthPresent, Value: "false"},
	)
}
