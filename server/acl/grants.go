package acl

import (
	"sync"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// maxCachedGrants bounds the authorizer's cache; past it the cache starts over.
const maxCachedGrants = 8192

// Authorizer resolves a caller's grants from the identity state: a service token's built-in
// policy and its attached ones; a user's (personal token or session) own and their groups'
// policies, narrowed by a personal token's scope; a role session's role policies. It is the
// server's api.Policies. Compiled grants are cached per principal and dropped whole when the
// identity state's generation changes (any user, group, policy, attachment or role change), so
// a request costs one small read when nothing changed.
type Authorizer struct {
	core *module.Core

	mu    sync.Mutex
	gen   uint64
	cache map[string]api.Grants
}

// NewAuthorizer returns the authorizer over the module's core (usable once the server runs).
func NewAuthorizer(core *module.Core) *Authorizer {
	return &Authorizer{core: core, cache: map[string]api.Grants{}}
}

// GrantsFor implements api.Policies. A principal that no longer resolves (its user or role was
// deleted while the token lived) has no policies: every request is denied.
func (a *Authorizer) GrantsFor(id *auth.Identity) api.Grants {
	if id == nil || id.Host != nil || id.HostToken != nil {
		return api.Grants{}
	}
	tk := &id.Token
	key := tk.Type + "\x00" + tk.AccessorID
	var g api.Grants
	_ = a.core.State.View(func(tx *state.Tx) error {
		gen := generation(tx)
		a.mu.Lock()
		if gen != a.gen {
			a.gen, a.cache = gen, map[string]api.Grants{}
		}
		cached, ok := a.cache[key]
		a.mu.Unlock()
		if ok {
			g = cached
			return nil
		}
		g = resolve(tx, tk)
		a.mu.Lock()
		if a.gen == gen {
			if len(a.cache) >= maxCachedGrants {
				a.cache = map[string]api.Grants{}
			}
			a.cache[key] = g
		}
		a.mu.Unlock()
		return nil
	})
	// Per token, not per principal: a session's MFA is its own.
	g.MFA = tk.MFA
	if tk.MFATime != nil {
		g.MFATime = *tk.MFATime
	}
	return g
}

// resolve builds a token's grants from the state.
func resolve(tx *state.Tx, tk *state.Token) api.Grants {
	pc := policyCompiler{tx: tx}
	switch tk.Type {
	case pub.TokenTypeUser, pub.TokenTypeSession:
		u, err := getUser(tx, tk.User)
		if err != nil {
			return api.Grants{Principal: audit.Principal{Kind: audit.KindUser, Name: tk.User}}
		}
		g := api.Grants{Principal: audit.Principal{Kind: audit.KindUser, ID: u.ID, Name: u.Name}, MFAEnrolled: u.Enabled()}
		g.Policies = append(pc.all(u.Policies), selfPolicy(u.Name, tk.Type == pub.TokenTypeSession))
		for _, name := range u.Groups {
			if grp, err := getGroup(tx, name); err == nil {
				g.Policies = append(g.Policies, pc.all(grp.Policies)...)
			}
		}
		if tk.Scope != "" {
			g.Scope = []*policy.Policy{pc.scope(tk.Scope)}
		}
		return g
	case pub.TokenTypeRole:
		g := api.Grants{Principal: audit.Principal{Kind: audit.KindRole, ID: tk.Role, Name: tk.Role}}
		if r, err := getRole(tx, tk.Role); err == nil {
			g.Policies = append(pc.all(r.Policies), whoAmI())
		}
		if tk.Scope != "" {
			g.Scope = []*policy.Policy{pc.scope(tk.Scope)}
		}
		return g
	}
	g := api.Grants{Principal: api.TokenPrincipal(*tk)}
	g.Policies = append(append(g.Policies, api.BuiltinPolicies(tk.Type)...), pc.all(tk.Policies)...)
	return g
}

// policyCompiler resolves policy names to compiled policies within one read.
type policyCompiler struct{ tx *state.Tx }

// all resolves names: managed policies by name, customer policies compiled from the state. A
// name that no longer resolves is left out (it allows nothing).
func (pc policyCompiler) all(names []string) []*policy.Policy {
	out := make([]*policy.Policy, 0, len(names))
	for _, name := range names {
		if p, ok := policy.Managed(name); ok {
			out = append(out, p)
			continue
		}
		rec, err := getPolicy(pc.tx, name)
		if err != nil {
			continue
		}
		if _, p, err := ParseDocument(name, rec.Document); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// scope compiles a token's narrowing policy; one that no longer compiles allows nothing (a
// policy named "token scope" with no statements would be refused by Compile, so it is a nil
// policy that Evaluate skips: an implicit deny).
func (pc policyCompiler) scope(doc string) *policy.Policy {
	_, p, err := ParseDocument("token scope", doc)
	if err != nil {
		return nil
	}
	return p
}
