package api

import (
	"context"
	"net/http"
	"net/url"
)

// The identity routes (/v1/iam/..., /v1/sts/caller-identity): users, groups, policies, roles,
// users' SSH keys and personal access tokens. Secrets (passwords, token secrets) travel only in
// the requests that set them and the one answer that makes a token.

// Decisions of a SimulateResult.
const (
	SimulateAllowed      = "allowed"
	SimulateExplicitDeny = "explicit_deny"
	SimulateImplicitDeny = "implicit_deny"
)

func iamPath(kind, name string, rest ...string) string {
	p := "/v1/iam/" + kind
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// --- users

// UserCreate creates a user; req.Password is optional.
func (c *Client) UserCreate(ctx context.Context, req UserCreateRequest) (*User, error) {
	var u User
	err := c.do(ctx, request{method: http.MethodPost, path: iamPath("users", ""), in: req, out: &u})
	return &u, err
}

// UserList lists users in name order, a page at a time.
func (c *Client) UserList(ctx context.Context, q *QueryOptions) (*UserList, error) {
	var l UserList
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("users", ""), query: q.values(), out: &l})
	return &l, err
}

// UserGet returns one user (never a secret).
func (c *Client) UserGet(ctx context.Context, name string, q *QueryOptions) (*User, error) {
	var u User
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("users", name), query: q.values(), out: &u})
	return &u, err
}

// UserUpdate changes a user's display name or email; a nil field stays as it is.
func (c *Client) UserUpdate(ctx context.Context, name string, req UserUpdateRequest) (*User, error) {
	var u User
	err := c.do(ctx, request{method: http.MethodPatch, path: iamPath("users", name), in: req, out: &u})
	return &u, err
}

// UserDelete deletes a user with their tokens, sessions and SSH keys.
func (c *Client) UserDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: iamPath("users", name)})
}

// UserSetPassword sets a user's password; the user's other sign-in sessions end. A user changing
// their own password gives the current one in req.CurrentPassword.
func (c *Client) UserSetPassword(ctx context.Context, name string, req PasswordRequest) error {
	return c.do(ctx, request{method: http.MethodPut, path: iamPath("users", name, "password"), in: req})
}

// UserUnlock lifts a user's sign-in lock (after too many failed logins).
func (c *Client) UserUnlock(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodPost, path: iamPath("users", name, "unlock")})
}

// UserTokenCreate makes a personal access token of a user; the answer carries its secret, shown
// this once.
func (c *Client) UserTokenCreate(ctx context.Context, user string, req UserTokenCreateRequest) (*Token, error) {
	var t Token
	err := c.do(ctx, request{method: http.MethodPost, path: iamPath("users", user, "tokens"), in: req, out: &t})
	return &t, err
}

// UserTokenList lists a user's personal tokens and sign-in sessions (never their secrets).
func (c *Client) UserTokenList(ctx context.Context, user string) (*TokenPage, error) {
	var l TokenPage
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("users", user, "tokens"), out: &l})
	return &l, err
}

// --- SSH keys

// SSHKeyAdd adds an SSH public key (one authorized_keys line) to a user.
func (c *Client) SSHKeyAdd(ctx context.Context, user, publicKey string) (*SSHKey, error) {
	var k SSHKey
	err := c.do(ctx, request{method: http.MethodPost, path: iamPath("users", user, "ssh-keys"), in: SSHKeyAddRequest{PublicKey: publicKey}, out: &k})
	return &k, err
}

// SSHKeyList lists a user's SSH public keys.
func (c *Client) SSHKeyList(ctx context.Context, user string) (*SSHKeyList, error) {
	var l SSHKeyList
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("users", user, "ssh-keys"), out: &l})
	return &l, err
}

// SSHKeyRemove removes one of a user's SSH keys by its fingerprint (SHA256:...).
func (c *Client) SSHKeyRemove(ctx context.Context, user, fingerprint string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: iamPath("users", user, "ssh-keys", url.PathEscape(fingerprint))})
}

// --- groups

// IAMGroupCreate creates a group of users.
func (c *Client) IAMGroupCreate(ctx context.Context, req IAMGroupCreateRequest) (*IAMGroup, error) {
	var g IAMGroup
	err := c.do(ctx, request{method: http.MethodPost, path: iamPath("groups", ""), in: req, out: &g})
	return &g, err
}

// IAMGroupList lists groups in name order (without their members).
func (c *Client) IAMGroupList(ctx context.Context, q *QueryOptions) (*IAMGroupList, error) {
	var l IAMGroupList
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("groups", ""), query: q.values(), out: &l})
	return &l, err
}

// IAMGroupGet returns a group with its members.
func (c *Client) IAMGroupGet(ctx context.Context, name string, q *QueryOptions) (*IAMGroup, error) {
	var g IAMGroup
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("groups", name), query: q.values(), out: &g})
	return &g, err
}

// IAMGroupDelete deletes a group; its members stay users.
func (c *Client) IAMGroupDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: iamPath("groups", name)})
}

// IAMGroupAddUser adds a user to a group.
func (c *Client) IAMGroupAddUser(ctx context.Context, group, user string) error {
	return c.do(ctx, request{method: http.MethodPut, path: iamPath("groups", group, "members", url.PathEscape(user))})
}

// IAMGroupRemoveUser removes a user from a group.
func (c *Client) IAMGroupRemoveUser(ctx context.Context, group, user string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: iamPath("groups", group, "members", url.PathEscape(user))})
}

// --- policies

// PolicyCreate creates a customer policy; req.Document is JSON or YAML text. A document that does
// not parse is refused with the parser's diagnostics (line, path, what to fix).
func (c *Client) PolicyCreate(ctx context.Context, req PolicyPutRequest) (*Policy, error) {
	var p Policy
	err := c.do(ctx, request{method: http.MethodPost, path: iamPath("policies", ""), in: req, out: &p})
	return &p, err
}

// PolicyList lists the managed policies, then customer policies (documents left out).
func (c *Client) PolicyList(ctx context.Context, q *QueryOptions) (*PolicyList, error) {
	var l PolicyList
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("policies", ""), query: q.values(), out: &l})
	return &l, err
}

// PolicyGet returns a managed or customer policy with its document.
func (c *Client) PolicyGet(ctx context.Context, name string, q *QueryOptions) (*Policy, error) {
	var p Policy
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("policies", name), query: q.values(), out: &p})
	return &p, err
}

// PolicyUpdate replaces a customer policy's document (its version counts up).
func (c *Client) PolicyUpdate(ctx context.Context, name string, req PolicyPutRequest) (*Policy, error) {
	var p Policy
	err := c.do(ctx, request{method: http.MethodPut, path: iamPath("policies", name), in: req, out: &p})
	return &p, err
}

// PolicyDelete deletes a customer policy that nothing has attached.
func (c *Client) PolicyDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: iamPath("policies", name)})
}

// PolicyAttach attaches a policy to exactly one principal of to.
func (c *Client) PolicyAttach(ctx context.Context, name string, to PolicyAttachRequest) error {
	return c.do(ctx, request{method: http.MethodPost, path: iamPath("policies", name, "attach"), in: to})
}

// PolicyDetach detaches a policy from exactly one principal of from.
func (c *Client) PolicyDetach(ctx context.Context, name string, from PolicyAttachRequest) error {
	return c.do(ctx, request{method: http.MethodPost, path: iamPath("policies", name, "detach"), in: from})
}

// --- roles

// RoleCreate creates a role.
func (c *Client) RoleCreate(ctx context.Context, req RoleCreateRequest) (*Role, error) {
	var r Role
	err := c.do(ctx, request{method: http.MethodPost, path: iamPath("roles", ""), in: req, out: &r})
	return &r, err
}

// RoleList lists roles in name order.
func (c *Client) RoleList(ctx context.Context, q *QueryOptions) (*RoleList, error) {
	var l RoleList
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("roles", ""), query: q.values(), out: &l})
	return &l, err
}

// RoleGet returns one role.
func (c *Client) RoleGet(ctx context.Context, name string, q *QueryOptions) (*Role, error) {
	var r Role
	err := c.do(ctx, request{method: http.MethodGet, path: iamPath("roles", name), query: q.values(), out: &r})
	return &r, err
}

// RoleDelete deletes a role and ends its sessions.
func (c *Client) RoleDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: iamPath("roles", name)})
}

// --- who am I, what if

// CallerIdentity returns who the client's credential is.
func (c *Client) CallerIdentity(ctx context.Context) (*CallerIdentity, error) {
	var id CallerIdentity
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/sts/caller-identity", out: &id})
	return &id, err
}

// Simulate evaluates an action on a resource against a principal's policies, without doing it,
// and names the statement that decided.
func (c *Client) Simulate(ctx context.Context, req SimulateRequest) (*SimulateResult, error) {
	var r SimulateResult
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/iam/simulate", in: req, out: &r})
	return &r, err
}
