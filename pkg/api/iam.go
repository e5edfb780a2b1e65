package api

import (
	"encoding/json"
	"time"
)

// Token types beyond the service tokens (management, client): a user's personal access token, a
// user's sign-in session, and a role's temporary credentials.
const (
	TokenTypeUser    = "user"
	TokenTypeSession = "session"
	TokenTypeRole    = "role"
)

// User is a person who signs in (GET /v1/iam/users/{name}). Secrets are never shown.
type User struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	DisplayName string     `json:"display_name,omitempty"`
	Email       string     `json:"email,omitempty"`
	HasPassword bool       `json:"has_password"`
	MFAEnabled  bool       `json:"mfa_enabled"`
	Groups      []string   `json:"groups,omitempty"`
	Policies    []string   `json:"policies,omitempty"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	CreateTime  time.Time  `json:"create_time"`
	CreateIndex uint64     `json:"create_index"`
	ModifyIndex uint64     `json:"modify_index"`
}

// UserCreateRequest is the body of POST /v1/iam/users. Password is optional (a user without one
// signs in only with tokens an administrator makes).
type UserCreateRequest struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Password    string `json:"password,omitempty"`
}

// UserUpdateRequest is the body of PATCH /v1/iam/users/{name}: a field left out stays.
type UserUpdateRequest struct {
	DisplayName *string `json:"display_name,omitempty"`
	Email       *string `json:"email,omitempty"`
}

// PasswordRequest is the body of PUT /v1/iam/users/{name}/password. A user changing their own
// password gives the current one; the user's other sign-in sessions end.
type PasswordRequest struct {
	Password        string `json:"password"`
	CurrentPassword string `json:"current_password,omitempty"`
}

// UserList is the answer of GET /v1/iam/users.
type UserList struct {
	Users []User `json:"users"`
	Next  string `json:"next,omitempty"`
}

// IAMGroup is a set of users with attached policies.
type IAMGroup struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Policies    []string  `json:"policies,omitempty"`
	Members     []string  `json:"members,omitempty"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// IAMGroupCreateRequest is the body of POST /v1/iam/groups.
type IAMGroupCreateRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// IAMGroupList is the answer of GET /v1/iam/groups.
type IAMGroupList struct {
	Groups []IAMGroup `json:"groups"`
	Next   string     `json:"next,omitempty"`
}

// Policy is a managed (built-in) or customer policy. Document is its JSON.
type Policy struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Managed     bool            `json:"managed"`
	Version     int             `json:"version,omitempty"`
	Document    json.RawMessage `json:"document"`
	CreateTime  *time.Time      `json:"create_time,omitempty"`
	UpdateTime  *time.Time      `json:"update_time,omitempty"`
	CreateIndex uint64          `json:"create_index,omitempty"`
	ModifyIndex uint64          `json:"modify_index,omitempty"`
}

// PolicyPutRequest is the body of POST /v1/iam/policies (create) and PUT
// /v1/iam/policies/{name} (a new version of the document). Document is the policy as JSON or
// YAML text.
type PolicyPutRequest struct {
	Name        string  `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	Document    string  `json:"document"`
}

// PolicyList is the answer of GET /v1/iam/policies (managed ones first, then customer ones).
type PolicyList struct {
	Policies []Policy `json:"policies"`
	Next     string   `json:"next,omitempty"`
}

// PolicyAttachRequest is the body of POST /v1/iam/policies/{name}/attach and .../detach: exactly
// one principal.
type PolicyAttachRequest struct {
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
	Token string `json:"token,omitempty"` // accessor
	Role  string `json:"role,omitempty"`
}

// Role is an identity principals named by Trust ("user/alice", "group/ci", "token/ACCESSOR",
// with * globs) may assume for temporary credentials.
type Role struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Trust       []string  `json:"trust"`
	RequireMFA  bool      `json:"require_mfa,omitempty"`
	Policies    []string  `json:"policies,omitempty"`
	MaxSession  string    `json:"max_session"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// RoleCreateRequest is the body of POST /v1/iam/roles. MaxSession is a Go duration (default 1h,
// at most 12h).
type RoleCreateRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Trust       []string `json:"trust"`
	RequireMFA  bool     `json:"require_mfa,omitempty"`
	Policies    []string `json:"policies,omitempty"`
	MaxSession  string   `json:"max_session,omitempty"`
}

// RoleList is the answer of GET /v1/iam/roles.
type RoleList struct {
	Roles []Role `json:"roles"`
	Next  string `json:"next,omitempty"`
}

// SSHKey is a user's SSH public key.
type SSHKey struct {
	Fingerprint string    `json:"fingerprint"`
	User        string    `json:"user"`
	Type        string    `json:"type"`
	Bits        int       `json:"bits"`
	Comment     string    `json:"comment,omitempty"`
	PublicKey   string    `json:"public_key"`
	AddTime     time.Time `json:"add_time"`
}

// SSHKeyAddRequest is the body of POST /v1/iam/users/{name}/ssh-keys: one authorized_keys line.
type SSHKeyAddRequest struct {
	PublicKey string `json:"public_key"`
}

// SSHKeyList is the answer of GET /v1/iam/users/{name}/ssh-keys.
type SSHKeyList struct {
	Keys []SSHKey `json:"keys"`
}

// UserTokenCreateRequest is the body of POST /v1/iam/users/{name}/tokens: a personal access token
// of that user, with an optional TTL (Go duration) and an optional policy document (JSON or
// YAML) that narrows what the token may do below what the user may.
type UserTokenCreateRequest struct {
	Name   string `json:"name,omitempty"`
	TTL    string `json:"ttl,omitempty"`
	Policy string `json:"policy,omitempty"`
}

// TokenPage is the answer of GET /v1/iam/users/{name}/tokens.
type TokenPage struct {
	Tokens []Token `json:"tokens"`
}

// CallerIdentity is the answer of GET /v1/sts/caller-identity: who the presented credential is.
type CallerIdentity struct {
	Kind       string     `json:"kind"` // user, token, role
	Name       string     `json:"name"`
	ID         string     `json:"id,omitempty"`
	SRN        string     `json:"srn"`
	TokenType  string     `json:"token_type"`
	AccessorID string     `json:"accessor_id"`
	MFA        bool       `json:"mfa"`
	Source     string     `json:"source,omitempty"` // who assumed the role
	Expiration *time.Time `json:"expiration,omitempty"`
	Policies   []string   `json:"policies,omitempty"`
	Groups     []string   `json:"groups,omitempty"`
}

// SimulateRequest is the body of POST /v1/iam/simulate. Principal is "user/NAME", "group/NAME",
// "token/ACCESSOR" or "role/NAME"; Context adds condition keys (slipway:SourceIp, ...).
type SimulateRequest struct {
	Principal string            `json:"principal"`
	Action    string            `json:"action"`
	Resource  string            `json:"resource"`
	Context   map[string]string `json:"context,omitempty"`
}

// SimulateResult is the answer of POST /v1/iam/simulate: allowed, explicit_deny or implicit_deny,
// and the statement that decided (none for an implicit deny).
type SimulateResult struct {
	Decision  string `json:"decision"`
	Policy    string `json:"policy,omitempty"`
	Sid       string `json:"sid,omitempty"`
	Statement int    `json:"statement,omitempty"`
	Action    string `json:"action"`
	Resource  string `json:"resource"`
}
