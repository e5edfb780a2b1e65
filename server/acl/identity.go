package acl

import (
	"context"
	"encoding/json"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/credential"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Bounds a low-privilege caller cannot push past.
const (
	MaxGroupsPerUser        = 100
	MaxPoliciesPerPrincipal = 20
	MaxSSHKeysPerUser       = 50
	MaxTrustEntries         = 50
	MaxPolicyDocumentBytes  = 16 << 10 // a policy's text as sent
	DefaultRoleSession      = time.Hour
	MaxRoleSession          = 12 * time.Hour
)

// Identity is the Go API of users, groups, policies, roles and SSH keys: the rules live here;
// the HTTP routes, the CLI (through them) and the console call it. Writes propose a command
// under ctx; reads look at this server's state (callers make them consistent first).
type Identity struct{ core *module.Core }

func (s *Identity) view(fn func(tx *state.Tx) error) error { return s.core.State.View(fn) }

func propose[T any](ctx context.Context, s *Identity, d command.Def[T], p T) (command.Result, error) {
	return command.Propose(ctx, s.core.Cluster, d, s.core.Now(), p)
}

// --- users

func validateEmail(email string) error {
	if email == "" {
		return nil
	}
	if err := state.ValidateLabel("email", email, true); err != nil {
		return err
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return fault.New(fault.Invalid, "email %s is not an address such as ana@example.com", state.Shorten(email))
	}
	return nil
}

// hashNewPassword checks a new password against the policy and hashes it.
func hashNewPassword(pw string) (string, error) {
	if err := credential.CheckPassword(pw); err != nil {
		return "", fault.New(fault.Invalid, "%v", err) // the caller's mistake, not the server's
	}
	h, err := credential.HashPassword(pw)
	if err != nil {
		return "", fault.New(fault.Internal, "hash the password: %v", err)
	}
	return h, nil
}

// CreateUser creates a user, with a password when one is given.
func (s *Identity) CreateUser(ctx context.Context, req pub.UserCreateRequest) (pub.User, error) {
	if err := state.ValidateName("user name", req.Name); err != nil {
		return pub.User{}, err
	}
	if req.DisplayName != "" {
		if err := state.ValidateLabel("display name", req.DisplayName, true); err != nil {
			return pub.User{}, err
		}
	}
	if err := validateEmail(req.Email); err != nil {
		return pub.User{}, err
	}
	p := UserCreatePayload{ID: uuid.NewString(), Name: req.Name, DisplayName: req.DisplayName, Email: req.Email}
	if req.Password != "" {
		h, err := hashNewPassword(req.Password)
		if err != nil {
			return pub.User{}, err
		}
		p.PasswordHash = h
	}
	return userResult(propose(ctx, s, CmdUserCreate, p))
}

func userResult(res command.Result, err error) (pub.User, error) {
	if err != nil {
		return pub.User{}, err
	}
	u, err := command.Data[User](res)
	return UserView(u), err
}

// UserView is how the API shows a user: never a password hash, MFA secret or recovery code.
func UserView(u User) pub.User {
	return pub.User{ID: u.ID, Name: u.Name, DisplayName: u.DisplayName, Email: u.Email, HasPassword: u.PasswordHash != "",
		MFAEnabled: u.Enabled(), Groups: u.Groups, Policies: u.Policies, LockedUntil: u.LockedUntil,
		CreateTime: u.CreateTime, CreateIndex: u.CreateIndex, ModifyIndex: u.ModifyIndex}
}

// User returns one user's record.
func (s *Identity) User(name string) (User, error) {
	var u User
	err := s.view(func(tx *state.Tx) error {
		var err error
		u, err = getUser(tx, name)
		return err
	})
	return u, err
}

// FreshUser returns one user's record as the cluster has it now: after a consistent read, so a
// write that depends on what an earlier request changed (confirming the enrolment just made
// through another server) sees it.
func (s *Identity) FreshUser(ctx context.Context, name string) (User, error) {
	if err := s.core.Cluster.ConsistentRead(ctx); err != nil {
		return User{}, err
	}
	return s.User(name)
}

// GetUser returns one user as the API shows it.
func (s *Identity) GetUser(_ context.Context, name string) (pub.User, error) {
	u, err := s.User(name)
	return UserView(u), err
}

// ListUsers returns a page of users in name order.
func (s *Identity) ListUsers(_ context.Context, page api.Page) ([]pub.User, string, error) {
	var out []pub.User
	var next string
	err := s.view(func(tx *state.Tx) error {
		list, n, err := state.List[User](tx, bucketUsers, page.After, page.Limit, nil)
		for _, u := range list {
			out = append(out, UserView(u))
		}
		next = n
		return err
	})
	return out, next, err
}

// UpdateUser changes a user's display name or email.
func (s *Identity) UpdateUser(ctx context.Context, name string, req pub.UserUpdateRequest) (pub.User, error) {
	if req.DisplayName != nil && *req.DisplayName != "" {
		if err := state.ValidateLabel("display name", *req.DisplayName, true); err != nil {
			return pub.User{}, err
		}
	}
	if req.Email != nil {
		if err := validateEmail(*req.Email); err != nil {
			return pub.User{}, err
		}
	}
	return userResult(propose(ctx, s, CmdUserUpdate, UserUpdatePayload{Name: name, DisplayName: req.DisplayName, Email: req.Email}))
}

// DeleteUser deletes a user, their tokens, sessions and SSH keys.
func (s *Identity) DeleteUser(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdUserDelete, NamePayload{Name: name})
	return err
}

// SetPassword sets a user's password. When the caller is that user (a session or personal token
// of theirs), the current password must be given; the user's other sessions end either way.
func (s *Identity) SetPassword(ctx context.Context, name string, req pub.PasswordRequest, caller *auth.Identity) error {
	u, err := s.FreshUser(ctx, name)
	if err != nil {
		return err
	}
	keep := ""
	if caller != nil && caller.Token.User == name {
		if u.PasswordHash != "" {
			ok, _, _ := credential.VerifyPassword(u.PasswordHash, req.CurrentPassword)
			if !ok {
				return fault.New(fault.Forbidden, "the current password is wrong: give it in current_password to change your own password")
			}
		}
		keep = caller.Token.AccessorID
	}
	h, err := hashNewPassword(req.Password)
	if err != nil {
		return err
	}
	_, err = propose(ctx, s, CmdUserPassword, UserPasswordPayload{Name: name, PasswordHash: h, RevokeSessions: true, KeepSession: keep})
	return err
}

// Unlock lifts a sign-in lock.
func (s *Identity) Unlock(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdUserLock, UserLockPayload{Name: name})
	return err
}

// --- groups

func groupView(g Group, members []string) pub.IAMGroup {
	return pub.IAMGroup{Name: g.Name, Description: g.Description, Policies: g.Policies, Members: members,
		CreateTime: g.CreateTime, CreateIndex: g.CreateIndex, ModifyIndex: g.ModifyIndex}
}

// CreateGroup creates a group.
func (s *Identity) CreateGroup(ctx context.Context, req pub.IAMGroupCreateRequest) (pub.IAMGroup, error) {
	if err := state.ValidateName("group name", req.Name); err != nil {
		return pub.IAMGroup{}, err
	}
	if err := state.ValidateDescription("group", req.Description); err != nil {
		return pub.IAMGroup{}, err
	}
	res, err := propose(ctx, s, CmdGroupCreate, GroupCreatePayload{Name: req.Name, Description: req.Description})
	if err != nil {
		return pub.IAMGroup{}, err
	}
	g, err := command.Data[Group](res)
	return groupView(g, nil), err
}

// GetGroup returns a group with its members.
func (s *Identity) GetGroup(_ context.Context, name string) (pub.IAMGroup, error) {
	var out pub.IAMGroup
	err := s.view(func(tx *state.Tx) error {
		g, err := getGroup(tx, name)
		if err != nil {
			return err
		}
		var members []string
		if err := eachRecord(tx, bucketUsers, func(u User) {
			if slices.Contains(u.Groups, name) {
				members = append(members, u.Name)
			}
		}); err != nil {
			return err
		}
		out = groupView(g, members)
		return nil
	})
	return out, err
}

// ListGroups returns a page of groups in name order (without members).
func (s *Identity) ListGroups(_ context.Context, page api.Page) ([]pub.IAMGroup, string, error) {
	var out []pub.IAMGroup
	var next string
	err := s.view(func(tx *state.Tx) error {
		list, n, err := state.List[Group](tx, bucketGroups, page.After, page.Limit, nil)
		for _, g := range list {
			out = append(out, groupView(g, nil))
		}
		next = n
		return err
	})
	return out, next, err
}

// DeleteGroup deletes a group; its members stay users.
func (s *Identity) DeleteGroup(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdGroupDelete, NamePayload{Name: name})
	return err
}

// SetMember adds a user to a group (add) or removes them.
func (s *Identity) SetMember(ctx context.Context, group, user string, add bool) error {
	_, err := propose(ctx, s, CmdGroupMember, GroupMemberPayload{Group: group, User: user, Add: add})
	return err
}

// --- policies

// ParseDocument parses and compiles a policy document given as JSON or YAML text and returns it
// normalized as JSON. Errors are the parser's diagnostics (line, path, what to fix).
func ParseDocument(name, text string) (string, *policy.Policy, error) {
	if len(text) > MaxPolicyDocumentBytes {
		return "", nil, fault.New(fault.Invalid, "the policy document is %d bytes; at most %d are allowed", len(text), MaxPolicyDocumentBytes)
	}
	if strings.TrimSpace(text) == "" {
		return "", nil, fault.New(fault.Invalid, "the policy document is empty: give a JSON or YAML document with Version and Statement")
	}
	doc, err := policy.Parse([]byte(text))
	if err != nil {
		return "", nil, fault.New(fault.Invalid, "%v", err)
	}
	p, err := policy.Compile(name, doc)
	if err != nil {
		return "", nil, fault.New(fault.Invalid, "%v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", nil, fault.New(fault.Internal, "encode the policy: %v", err)
	}
	return string(b), p, nil
}

func policyView(p Policy) pub.Policy {
	ct, ut := p.CreateTime, p.UpdateTime
	return pub.Policy{Name: p.Name, Description: p.Description, Version: p.Version, Document: json.RawMessage(p.Document),
		CreateTime: &ct, UpdateTime: &ut, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
}

func managedView(name string) (pub.Policy, bool) {
	p, ok := policy.Managed(name)
	if !ok {
		return pub.Policy{}, false
	}
	b, _ := json.Marshal(p.Document())
	return pub.Policy{Name: name, Managed: true, Document: b}, true
}

// CreatePolicy creates a customer policy.
func (s *Identity) CreatePolicy(ctx context.Context, req pub.PolicyPutRequest) (pub.Policy, error) {
	if err := state.ValidateName("policy name", req.Name); err != nil {
		return pub.Policy{}, err
	}
	if req.Description != nil {
		if err := state.ValidateDescription("policy", *req.Description); err != nil {
			return pub.Policy{}, err
		}
	}
	doc, _, err := ParseDocument(req.Name, req.Document)
	if err != nil {
		return pub.Policy{}, err
	}
	return policyResult(propose(ctx, s, CmdPolicyCreate, PolicyPutPayload{Name: req.Name, Description: req.Description, Document: doc}))
}

// UpdatePolicy replaces a customer policy's document (its version counts up).
func (s *Identity) UpdatePolicy(ctx context.Context, name string, req pub.PolicyPutRequest) (pub.Policy, error) {
	if _, ok := policy.Managed(name); ok {
		return pub.Policy{}, fault.New(fault.Invalid, "%s is a built-in managed policy and cannot be changed: create a customer policy", name)
	}
	if req.Description != nil {
		if err := state.ValidateDescription("policy", *req.Description); err != nil {
			return pub.Policy{}, err
		}
	}
	doc, _, err := ParseDocument(name, req.Document)
	if err != nil {
		return pub.Policy{}, err
	}
	return policyResult(propose(ctx, s, CmdPolicyUpdate, PolicyPutPayload{Name: name, Description: req.Description, Document: doc}))
}

func policyResult(res command.Result, err error) (pub.Policy, error) {
	if err != nil {
		return pub.Policy{}, err
	}
	p, err := command.Data[Policy](res)
	return policyView(p), err
}

// GetPolicy returns a managed or customer policy, document included.
func (s *Identity) GetPolicy(_ context.Context, name string) (pub.Policy, error) {
	if v, ok := managedView(name); ok {
		return v, nil
	}
	var p Policy
	err := s.view(func(tx *state.Tx) error {
		var err error
		p, err = getPolicy(tx, name)
		return err
	})
	return policyView(p), err
}

// ListPolicies returns the managed policies, then a page of customer policies. The cursor of the
// first page is empty; later pages hold customer policies only.
func (s *Identity) ListPolicies(_ context.Context, page api.Page) ([]pub.Policy, string, error) {
	var out []pub.Policy
	if page.After == "" {
		for _, name := range policy.ManagedNames() {
			v, _ := managedView(name)
			v.Document = nil
			out = append(out, v)
		}
	}
	var next string
	err := s.view(func(tx *state.Tx) error {
		list, n, err := state.List[Policy](tx, bucketPolicies, page.After, page.Limit, nil)
		for _, p := range list {
			v := policyView(p)
			v.Document = nil
			out = append(out, v)
		}
		next = n
		return err
	})
	return out, next, err
}

// DeletePolicy deletes a customer policy that nothing has attached.
func (s *Identity) DeletePolicy(ctx context.Context, name string) error {
	if _, ok := policy.Managed(name); ok {
		return fault.New(fault.Invalid, "%s is a built-in managed policy and cannot be deleted", name)
	}
	_, err := propose(ctx, s, CmdPolicyDelete, NamePayload{Name: name})
	return err
}

// Attach attaches (or detaches) a policy to exactly one principal of req.
func (s *Identity) Attach(ctx context.Context, name string, req pub.PolicyAttachRequest, attach bool) error {
	p := PolicyAttachPayload{Policy: name, Attach: attach}
	n := 0
	for _, c := range []struct{ kind, target string }{{KindUser, req.User}, {KindGroup, req.Group}, {KindToken, req.Token}, {KindRole, req.Role}} {
		if c.target != "" {
			p.Kind, p.Target = c.kind, c.target
			n++
		}
	}
	if n != 1 {
		return fault.New(fault.Invalid, "name exactly one principal: a user, a group, a token (accessor) or a role")
	}
	_, err := propose(ctx, s, CmdPolicyAttach, p)
	return err
}

// --- roles

func roleView(r Role) pub.Role {
	return pub.Role{Name: r.Name, Description: r.Description, Trust: r.Trust, RequireMFA: r.RequireMFA, Policies: r.Policies,
		MaxSession: r.MaxSession.String(), CreateTime: r.CreateTime, CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex}
}

// ValidateTrust checks a role's trust entries: "user/NAME", "group/NAME", "token/ACCESSOR" or
// "role/NAME", NAME a name or a glob of one.
func ValidateTrust(trust []string) error {
	if len(trust) == 0 {
		return fault.New(fault.Invalid, "a role needs at least one trusted principal (--trust user/NAME, group/NAME or token/ACCESSOR)")
	}
	if len(trust) > MaxTrustEntries {
		return fault.New(fault.Invalid, "a role trusts at most %d principals; it names %d", MaxTrustEntries, len(trust))
	}
	for _, t := range trust {
		kind, name, ok := strings.Cut(t, "/")
		if !ok || (kind != KindUser && kind != KindGroup && kind != KindToken && kind != KindRole) || name == "" ||
			state.ValidateName("trusted name", strings.ReplaceAll(strings.ReplaceAll(name, "*", "x"), "?", "x")) != nil {
			return fault.New(fault.Invalid, "trusted principal %s is not user/NAME, group/NAME, token/ACCESSOR or role/NAME", state.Shorten(t))
		}
	}
	return nil
}

// CreateRole creates a role.
func (s *Identity) CreateRole(ctx context.Context, req pub.RoleCreateRequest) (pub.Role, error) {
	if err := state.ValidateName("role name", req.Name); err != nil {
		return pub.Role{}, err
	}
	if err := state.ValidateDescription("role", req.Description); err != nil {
		return pub.Role{}, err
	}
	if err := ValidateTrust(req.Trust); err != nil {
		return pub.Role{}, err
	}
	if len(req.Policies) > MaxPoliciesPerPrincipal {
		return pub.Role{}, fault.New(fault.Invalid, "a role has at most %d policies", MaxPoliciesPerPrincipal)
	}
	max := DefaultRoleSession
	if req.MaxSession != "" {
		d, err := time.ParseDuration(req.MaxSession)
		if err != nil || d < 15*time.Minute || d > MaxRoleSession {
			return pub.Role{}, fault.New(fault.Invalid, "max session %s is not a duration from 15m to %s", state.Shorten(req.MaxSession), MaxRoleSession)
		}
		max = d
	}
	trust := slices.Clone(req.Trust)
	slices.Sort(trust)
	pols := slices.Clone(req.Policies)
	slices.Sort(pols)
	res, err := propose(ctx, s, CmdRoleCreate, RoleCreatePayload{Name: req.Name, Description: req.Description, Trust: slices.Compact(trust),
		RequireMFA: req.RequireMFA, Policies: slices.Compact(pols), MaxSession: int64(max)})
	if err != nil {
		return pub.Role{}, err
	}
	r, err := command.Data[Role](res)
	return roleView(r), err
}

// Role returns a role's record.
func (s *Identity) Role(name string) (Role, error) {
	var r Role
	err := s.view(func(tx *state.Tx) error {
		var err error
		r, err = getRole(tx, name)
		return err
	})
	return r, err
}

// GetRole returns a role as the API shows it.
func (s *Identity) GetRole(_ context.Context, name string) (pub.Role, error) {
	r, err := s.Role(name)
	return roleView(r), err
}

// ListRoles returns a page of roles.
func (s *Identity) ListRoles(_ context.Context, page api.Page) ([]pub.Role, string, error) {
	var out []pub.Role
	var next string
	err := s.view(func(tx *state.Tx) error {
		list, n, err := state.List[Role](tx, bucketRoles, page.After, page.Limit, nil)
		for _, r := range list {
			out = append(out, roleView(r))
		}
		next = n
		return err
	})
	return out, next, err
}

// DeleteRole deletes a role and ends its sessions.
func (s *Identity) DeleteRole(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdRoleDelete, NamePayload{Name: name})
	return err
}

// --- SSH keys

func keyView(k SSHKey) pub.SSHKey {
	return pub.SSHKey{Fingerprint: k.Fingerprint, User: k.User, Type: k.Type, Bits: k.Bits, Comment: k.Comment, PublicKey: k.PublicKey, AddTime: k.AddTime}
}

// AddSSHKey adds an SSH public key (one authorized_keys line) to a user.
func (s *Identity) AddSSHKey(ctx context.Context, user string, req pub.SSHKeyAddRequest) (pub.SSHKey, error) {
	k, err := credential.ParseAuthorizedKey(req.PublicKey)
	if err != nil {
		return pub.SSHKey{}, fault.New(fault.Invalid, "%v", err)
	}
	res, err := propose(ctx, s, CmdSSHKeyAdd, SSHKeyAddPayload{User: user, Fingerprint: k.Fingerprint, Type: k.Type, Bits: k.Bits,
		Comment: k.Comment, PublicKey: k.AuthorizedKey()})
	if err != nil {
		return pub.SSHKey{}, err
	}
	rec, err := command.Data[SSHKey](res)
	return keyView(rec), err
}

// ListSSHKeys lists a user's keys.
func (s *Identity) ListSSHKeys(_ context.Context, user string) ([]pub.SSHKey, error) {
	out := []pub.SSHKey{}
	err := s.view(func(tx *state.Tx) error {
		if _, err := getUser(tx, user); err != nil {
			return err
		}
		return eachRecord(tx, bucketSSHKeys, func(k SSHKey) {
			if k.User == user {
				out = append(out, keyView(k))
			}
		})
	})
	return out, err
}

// RemoveSSHKey removes one of a user's keys by fingerprint.
func (s *Identity) RemoveSSHKey(ctx context.Context, user, fingerprint string) error {
	_, err := propose(ctx, s, CmdSSHKeyRemove, SSHKeyRemovePayload{User: user, Fingerprint: fingerprint})
	return err
}

// KeyOwner returns the user an SSH key (by SHA256 fingerprint) belongs to: how the git SSH
// server will know who pushes.
func (s *Identity) KeyOwner(fingerprint string) (string, error) {
	var k SSHKey
	err := s.view(func(tx *state.Tx) error {
		var ok bool
		var err error
		k, ok, err = state.Get[SSHKey](tx, bucketSSHKeys, fingerprint)
		if err == nil && !ok {
			err = fault.New(fault.NotFound, "no user has the SSH key %s", state.Shorten(fingerprint))
		}
		return err
	})
	return k.User, err
}

// --- users' tokens

// CreateUserToken makes a personal access token of a user: it acts as the user, narrowed by the
// optional policy, until its TTL ends.
func (s *Identity) CreateUserToken(ctx context.Context, user string, req pub.UserTokenCreateRequest) (pub.Token, error) {
	name := req.Name
	if name == "" {
		name = user + " token"
	}
	if err := state.ValidateLabel("token name", name, true); err != nil {
		return pub.Token{}, err
	}
	if _, err := s.User(user); err != nil {
		return pub.Token{}, err
	}
	tk := Token{AccessorID: uuid.NewString(), Name: name, Type: pub.TokenTypeUser, User: user}
	if req.Policy != "" {
		doc, _, err := ParseDocument("token scope", req.Policy)
		if err != nil {
			return pub.Token{}, err
		}
		tk.Scope = doc
	}
	if req.TTL != "" {
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil || ttl <= 0 {
			return pub.Token{}, fault.New(fault.Invalid, "ttl %s is not a positive duration such as 30m, 24h or 720h", state.Shorten(req.TTL))
		}
		tk.ExpirationTime = s.core.Now().Add(ttl).UnixNano()
	}
	secret := auth.NewSecret()
	tk.SecretHash = auth.HashSecret(secret)
	res, err := propose(ctx, s, CmdCreateToken, CreateTokenPayload{Token: tk})
	if err != nil {
		return pub.Token{}, err
	}
	return created(res, secret)
}

// ListUserTokens lists a user's tokens and sessions (never their secrets).
func (s *Identity) ListUserTokens(_ context.Context, user string) ([]pub.Token, error) {
	out := []pub.Token{}
	err := s.view(func(tx *state.Tx) error {
		if _, err := getUser(tx, user); err != nil {
			return err
		}
		return tx.EachToken(func(tk state.Token) bool {
			if tk.User == user {
				out = append(out, View(tk))
			}
			return true
		})
	})
	return out, err
}

// isServiceToken reports whether a token type is a principal of its own (not a user's or a
// role's).
func isServiceToken(typ string) bool {
	return typ == pub.TokenTypeManagement || typ == pub.TokenTypeClient
}

// TokenTypeSession is a user's sign-in session.
const TokenTypeSession = pub.TokenTypeSession
