package acl

import (
	"slices"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

func getPolicy(tx *state.Tx, name string) (Policy, error) {
	p, ok, err := state.Get[Policy](tx, bucketPolicies, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "policy %s not found: `slipway iam policy list` shows the policies", state.Shorten(name))
	}
	return p, err
}

// policyExists checks that name is a managed or a customer policy.
func policyExists(tx *state.Tx, name string) error {
	if _, ok := policy.Managed(name); ok {
		return nil
	}
	_, err := getPolicy(tx, name)
	return err
}

func applyPolicyCreate(tx *state.Tx, index uint64, c *command.Command, p PolicyPutPayload) (any, error) {
	if _, ok := policy.Managed(p.Name); ok {
		return nil, fault.New(fault.Conflict, "%s is a built-in managed policy: choose another name", p.Name)
	}
	if _, ok, err := state.Get[Policy](tx, bucketPolicies, p.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "policy %s already exists: `slipway iam policy update %s --document FILE` replaces its document", p.Name, p.Name)
		}
		return nil, err
	}
	pol := Policy{Name: p.Name, Document: p.Document, Version: 1, CreateTime: c.Time, UpdateTime: c.Time, CreateIndex: index, ModifyIndex: index}
	if p.Description != nil {
		pol.Description = *p.Description
	}
	if err := state.Put(tx, bucketPolicies, pol.Name, pol); err != nil {
		return nil, err
	}
	return pol, bump(tx, index)
}

func applyPolicyUpdate(tx *state.Tx, index uint64, c *command.Command, p PolicyPutPayload) (any, error) {
	pol, err := getPolicy(tx, p.Name)
	if err != nil {
		return nil, err
	}
	pol.Document = p.Document
	if p.Description != nil {
		pol.Description = *p.Description
	}
	pol.Version++
	pol.UpdateTime, pol.ModifyIndex = c.Time, index
	if err := state.Put(tx, bucketPolicies, pol.Name, pol); err != nil {
		return nil, err
	}
	return pol, bump(tx, index)
}

// applyPolicyDelete deletes a customer policy that nothing has attached, as IAM's
// DeleteConflict: detach it first.
func applyPolicyDelete(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	if _, err := getPolicy(tx, p.Name); err != nil {
		return nil, err
	}
	if at, err := attachments(tx, p.Name, 1); err != nil || len(at) > 0 {
		if err == nil {
			err = fault.New(fault.Conflict, "policy %s is attached to %s: detach it first (`slipway iam policy detach %s --%s %s`)",
				p.Name, at[0].Kind+" "+at[0].Target, p.Name, at[0].Kind, at[0].Target)
		}
		return nil, err
	}
	if err := state.Delete(tx, bucketPolicies, p.Name); err != nil {
		return nil, err
	}
	return nil, bump(tx, index)
}

// Attachment is one principal a policy is attached to.
type Attachment struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
}

// attachments lists up to limit principals name is attached to (limit 0: all).
func attachments(tx *state.Tx, name string, limit int) ([]Attachment, error) {
	var out []Attachment
	add := func(kind, target string, policies []string) {
		if (limit == 0 || len(out) < limit) && slices.Contains(policies, name) {
			out = append(out, Attachment{Kind: kind, Target: target})
		}
	}
	if err := eachRecord(tx, bucketUsers, func(u User) { add(KindUser, u.Name, u.Policies) }); err != nil {
		return nil, err
	}
	if err := eachRecord(tx, bucketGroups, func(g Group) { add(KindGroup, g.Name, g.Policies) }); err != nil {
		return nil, err
	}
	if err := eachRecord(tx, bucketRoles, func(r Role) { add(KindRole, r.Name, r.Policies) }); err != nil {
		return nil, err
	}
	err := tx.EachToken(func(tk state.Token) bool { add(KindToken, tk.AccessorID, tk.Policies); return true })
	return out, err
}

// applyPolicyAttach attaches a policy to a principal or detaches it. Attaching one already
// attached, or detaching one that is not, changes nothing.
func applyPolicyAttach(tx *state.Tx, index uint64, _ *command.Command, p PolicyAttachPayload) (any, error) {
	if err := policyExists(tx, p.Policy); err != nil && p.Attach {
		return nil, err
	}
	edit := func(list []string) ([]string, bool, error) {
		has := slices.Contains(list, p.Policy)
		switch {
		case p.Attach && !has:
			if len(list) >= MaxPoliciesPerPrincipal {
				return nil, false, fault.New(fault.Invalid, "%s %s has %d policies attached, the most one principal may have: combine some into one policy",
					p.Kind, p.Target, len(list))
			}
			list = append(list, p.Policy)
			slices.Sort(list)
			return list, true, nil
		case !p.Attach && has:
			return slices.DeleteFunc(list, func(s string) bool { return s == p.Policy }), true, nil
		}
		return list, false, nil
	}
	var changed bool
	switch p.Kind {
	case KindUser:
		u, err := getUser(tx, p.Target)
		if err != nil {
			return nil, err
		}
		if u.Policies, changed, err = edit(u.Policies); err != nil || !changed {
			return nil, err
		}
		return putUser(tx, index, u)
	case KindGroup:
		g, err := getGroup(tx, p.Target)
		if err != nil {
			return nil, err
		}
		if g.Policies, changed, err = edit(g.Policies); err != nil || !changed {
			return nil, err
		}
		g.ModifyIndex = index
		if err := state.Put(tx, bucketGroups, g.Name, g); err != nil {
			return nil, err
		}
	case KindRole:
		r, err := getRole(tx, p.Target)
		if err != nil {
			return nil, err
		}
		if r.Policies, changed, err = edit(r.Policies); err != nil || !changed {
			return nil, err
		}
		r.ModifyIndex = index
		if err := state.Put(tx, bucketRoles, r.Name, r); err != nil {
			return nil, err
		}
	case KindToken:
		tk, err := tx.GetToken(p.Target)
		if err != nil {
			return nil, err
		}
		if !isServiceToken(tk.Type) {
			return nil, fault.New(fault.Invalid, "token %s is a %s token: attach policies to its user or role instead (a service token takes them)", tk.AccessorID, tk.Type)
		}
		if tk.Policies, changed, err = edit(tk.Policies); err != nil || !changed {
			return nil, err
		}
		if err := tx.UpdateToken(tk); err != nil {
			return nil, err
		}
	default:
		return nil, fault.New(fault.Invalid, "a policy attaches to a user, group, token or role, not %q", p.Kind)
	}
	return nil, bump(tx, index)
}
