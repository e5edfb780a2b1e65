package acl

import (
	"slices"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Apply handlers of the identity commands. Each checks what it references against the state
// (the proposer's checks may be stale), bumps the generation when who-may-do-what changes, and
// returns the stored record.

func getUser(tx *state.Tx, name string) (User, error) {
	u, ok, err := state.Get[User](tx, bucketUsers, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "user %s not found: `slipway iam user list` shows the users", state.Shorten(name))
	}
	return u, err
}

func getGroup(tx *state.Tx, name string) (Group, error) {
	g, ok, err := state.Get[Group](tx, bucketGroups, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "group %s not found: `slipway iam group list` shows the groups", state.Shorten(name))
	}
	return g, err
}

func getRole(tx *state.Tx, name string) (Role, error) {
	r, ok, err := state.Get[Role](tx, bucketRoles, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "role %s not found: `slipway iam role list` shows the roles", state.Shorten(name))
	}
	return r, err
}

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

func putUser(tx *state.Tx, index uint64, u User) (any, error) {
	u.ModifyIndex = index
	if err := state.Put(tx, bucketUsers, u.Name, u); err != nil {
		return nil, err
	}
	return u, bump(tx, index)
}

func applyUserCreate(tx *state.Tx, index uint64, c *command.Command, p UserCreatePayload) (any, error) {
	if _, ok, err := state.Get[User](tx, bucketUsers, p.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "user %s already exists", p.Name)
		}
		return nil, err
	}
	u := User{ID: p.ID, Name: p.Name, DisplayName: p.DisplayName, Email: p.Email, PasswordHash: p.PasswordHash,
		CreateTime: c.Time, CreateIndex: index}
	return putUser(tx, index, u)
}

func applyUserUpdate(tx *state.Tx, index uint64, _ *command.Command, p UserUpdatePayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if p.DisplayName != nil {
		u.DisplayName = *p.DisplayName
	}
	if p.Email != nil {
		u.Email = *p.Email
	}
	return putUser(tx, index, u)
}

// applyUserDelete deletes a user with their tokens, sessions and SSH keys.
func applyUserDelete(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	if _, err := getUser(tx, p.Name); err != nil {
		return nil, err
	}
	if err := revokeTokens(tx, func(tk state.Token) bool { return tk.User == p.Name || tk.Source == KindUser+"/"+p.Name }); err != nil {
		return nil, err
	}
	var keys []string
	if err := eachRecord(tx, bucketSSHKeys, func(k SSHKey) {
		if k.User == p.Name {
			keys = append(keys, k.Fingerprint)
		}
	}); err != nil {
		return nil, err
	}
	for _, fp := range keys {
		if err := state.Delete(tx, bucketSSHKeys, fp); err != nil {
			return nil, err
		}
	}
	if err := state.Delete(tx, bucketUsers, p.Name); err != nil {
		return nil, err
	}
	return nil, bump(tx, index)
}

// revokeTokens deletes every token match selects.
func revokeTokens(tx *state.Tx, match func(state.Token) bool) error {
	var gone []string
	if err := tx.EachToken(func(tk state.Token) bool {
		if match(tk) {
			gone = append(gone, tk.AccessorID)
		}
		return true
	}); err != nil {
		return err
	}
	for _, acc := range gone {
		if err := tx.DeleteToken(acc); err != nil {
			return err
		}
	}
	return nil
}

// eachRecord decodes every record of a bucket in key order.
func eachRecord[T any](tx *state.Tx, bucket []byte, fn func(T)) error {
	after := ""
	for {
		page, next, err := state.List[T](tx, bucket, after, 1000, nil)
		if err != nil {
			return err
		}
		for _, v := range page {
			fn(v)
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

func applyUserPassword(tx *state.Tx, index uint64, _ *command.Command, p UserPasswordPayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = p.PasswordHash
	if p.RevokeSessions {
		if err := revokeTokens(tx, func(tk state.Token) bool {
			return tk.Type == TokenTypeSession && tk.User == p.Name && tk.AccessorID != p.KeepSession
		}); err != nil {
			return nil, err
		}
	}
	return putUser(tx, index, u)
}

func applyUserLock(tx *state.Tx, index uint64, _ *command.Command, p UserLockPayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	u.LockedUntil = nil
	if p.Until != 0 {
		t := time.Unix(0, p.Until).UTC()
		u.LockedUntil = &t
	}
	return putUser(tx, index, u)
}

func applyGroupCreate(tx *state.Tx, index uint64, c *command.Command, p GroupCreatePayload) (any, error) {
	if _, ok, err := state.Get[Group](tx, bucketGroups, p.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "group %s already exists", p.Name)
		}
		return nil, err
	}
	g := Group{Name: p.Name, Description: p.Description, CreateTime: c.Time, CreateIndex: index, ModifyIndex: index}
	if err := state.Put(tx, bucketGroups, g.Name, g); err != nil {
		return nil, err
	}
	return g, bump(tx, index)
}

// applyGroupDelete deletes a group and takes its members out of it.
func applyGroupDelete(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	if _, err := getGroup(tx, p.Name); err != nil {
		return nil, err
	}
	var members []User
	if err := eachRecord(tx, bucketUsers, func(u User) {
		if slices.Contains(u.Groups, p.Name) {
			members = append(members, u)
		}
	}); err != nil {
		return nil, err
	}
	for _, u := range members {
		u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == p.Name })
		if _, err := putUser(tx, index, u); err != nil {
			return nil, err
		}
	}
	if err := state.Delete(tx, bucketGroups, p.Name); err != nil {
		return nil, err
	}
	return nil, bump(tx, index)
}

// applyGroupMember adds a user to a group or removes them; adding a member twice or removing a
// non-member changes nothing.
func applyGroupMember(tx *state.Tx, index uint64, _ *command.Command, p GroupMemberPayload) (any, error) {
	if _, err := getGroup(tx, p.Group); err != nil {
		return nil, err
	}
	u, err := getUser(tx, p.User)
	if err != nil {
		return nil, err
	}
	has := slices.Contains(u.Groups, p.Group)
	switch {
	case p.Add && !has:
		if len(u.Groups) >= MaxGroupsPerUser {
			return nil, fault.New(fault.Invalid, "user %s is in %d groups, the most one user may be in", u.Name, len(u.Groups))
		}
		u.Groups = append(u.Groups, p.Group)
		slices.Sort(u.Groups)
	case !p.Add && has:
		u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == p.Group })
	default:
		return u, nil
	}
	return putUser(tx, index, u)
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

func applyRoleCreate(tx *state.Tx, index uint64, c *command.Command, p RoleCreatePayload) (any, error) {
	if _, ok, err := state.Get[Role](tx, bucketRoles, p.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "role %s already exists", p.Name)
		}
		return nil, err
	}
	for _, name := range p.Policies {
		if err := policyExists(tx, name); err != nil {
			return nil, err
		}
	}
	r := Role{Name: p.Name, Description: p.Description, Trust: p.Trust, RequireMFA: p.RequireMFA, Policies: p.Policies,
		MaxSession: time.Duration(p.MaxSession), CreateTime: c.Time, CreateIndex: index, ModifyIndex: index}
	if err := state.Put(tx, bucketRoles, r.Name, r); err != nil {
		return nil, err
	}
	return r, bump(tx, index)
}

// applyRoleDelete deletes a role and ends its sessions.
func applyRoleDelete(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	if _, err := getRole(tx, p.Name); err != nil {
		return nil, err
	}
	if err := revokeTokens(tx, func(tk state.Token) bool { return tk.Role == p.Name }); err != nil {
		return nil, err
	}
	if err := state.Delete(tx, bucketRoles, p.Name); err != nil {
		return nil, err
	}
	return nil, bump(tx, index)
}

func applySSHKeyAdd(tx *state.Tx, index uint64, c *command.Command, p SSHKeyAddPayload) (any, error) {
	if _, err := getUser(tx, p.User); err != nil {
		return nil, err
	}
	if k, ok, err := state.Get[SSHKey](tx, bucketSSHKeys, p.Fingerprint); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "SSH key %s already belongs to user %s: a key belongs to one user", p.Fingerprint, k.User)
		}
		return nil, err
	}
	n := 0
	if err := eachRecord(tx, bucketSSHKeys, func(k SSHKey) {
		if k.User == p.User {
			n++
		}
	}); err != nil {
		return nil, err
	}
	if n >= MaxSSHKeysPerUser {
		return nil, fault.New(fault.Invalid, "user %s has %d SSH keys, the most one user may have: remove one first", p.User, n)
	}
	k := SSHKey{Fingerprint: p.Fingerprint, User: p.User, Type: p.Type, Bits: p.Bits, Comment: p.Comment,
		PublicKey: p.PublicKey, AddTime: c.Time, CreateIndex: index}
	return k, state.Put(tx, bucketSSHKeys, k.Fingerprint, k)
}

func applySSHKeyRemove(tx *state.Tx, _ uint64, _ *command.Command, p SSHKeyRemovePayload) (any, error) {
	k, ok, err := state.Get[SSHKey](tx, bucketSSHKeys, p.Fingerprint)
	if err == nil && (!ok || (p.User != "" && k.User != p.User)) {
		err = fault.New(fault.NotFound, "SSH key %s not found", state.Shorten(p.Fingerprint))
	}
	if err != nil {
		return nil, err
	}
	return nil, state.Delete(tx, bucketSSHKeys, p.Fingerprint)
}

func applyMFAEnroll(tx *state.Tx, index uint64, _ *command.Command, p MFAEnrollPayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if u.Enabled() {
		return nil, fault.New(fault.Conflict, "user %s already has MFA enabled: disable it first (`slipway iam mfa disable`)", u.Name)
	}
	u.MFA = &MFA{SealedSecret: p.SealedSecret}
	return putUser(tx, index, u)
}

func applyMFAConfirm(tx *state.Tx, index uint64, _ *command.Command, p MFAConfirmPayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if u.MFA == nil || u.MFA.Confirmed {
		return nil, fault.New(fault.Conflict, "user %s has no MFA enrolment waiting for confirmation: `slipway iam mfa enable` starts one", u.Name)
	}
	u.MFA.Confirmed, u.MFA.LastCounter, u.MFA.RecoveryHashes = true, p.Counter, p.RecoveryHashes
	return putUser(tx, index, u)
}

func applyMFADisable(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if u.MFA == nil {
		return nil, fault.New(fault.NotFound, "user %s has no MFA device", u.Name)
	}
	u.MFA = nil
	return putUser(tx, index, u)
}

// applyMFAUse consumes a second factor: a TOTP time step newer than the last one accepted, or an
// unused recovery code. A replayed code is refused here, on every server alike.
func applyMFAUse(tx *state.Tx, index uint64, _ *command.Command, p MFAUsePayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if !u.Enabled() {
		return nil, fault.New(fault.Invalid, "user %s has no MFA enabled", u.Name)
	}
	switch {
	case p.RecoveryHash != "":
		i := slices.Index(u.MFA.RecoveryHashes, p.RecoveryHash)
		if i < 0 {
			return nil, fault.New(fault.Unauthorized, "the recovery code is not valid or was already used")
		}
		u.MFA.RecoveryHashes = slices.Delete(u.MFA.RecoveryHashes, i, i+1)
	case p.Counter <= u.MFA.LastCounter:
		return nil, fault.New(fault.Unauthorized, "that MFA code was already used: wait for the next one")
	default:
		u.MFA.LastCounter = p.Counter
	}
	return putUser(tx, index, u)
}
