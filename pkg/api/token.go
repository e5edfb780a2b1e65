package api

import "time"

// Token types. A management token may do everything. A client token may read resources and look
// itself up; the policies that grant more arrive in a later release and attach through Policies.
const (
	TokenTypeManagement = "management"
	TokenTypeClient     = "client"
)

// Token is an API token as the API shows it. The secret appears only in the answer that created
// it (SecretID); the cluster stores a hash and can never show it again.
type Token struct {
	AccessorID     string     `json:"accessor_id"`
	SecretID       string     `json:"secret_id,omitempty"`
	Name           string     `json:"name"`
	Type           string     `json:"type"`
	Policies       []string   `json:"policies,omitempty"`
	User           string     `json:"user,omitempty"`   // a user's token or session: whose
	Role           string     `json:"role,omitempty"`   // a role session: which role
	Source         string     `json:"source,omitempty"` // a role session: who assumed it
	MFA            bool       `json:"mfa,omitempty"`    // opened with a second factor
	Scoped         bool       `json:"scoped,omitempty"` // narrowed by a policy of its own
	CreateTime     time.Time  `json:"create_time"`
	ExpirationTime *time.Time `json:"expiration_time,omitempty"`
	CreateIndex    uint64     `json:"create_index"`
}

// TokenCreateRequest is the body of POST /v1/tokens. TTL is a Go duration ("24h"); empty means
// the token does not expire. Type defaults to client.
type TokenCreateRequest struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	TTL  string `json:"ttl,omitempty"`
}

// TokenList is the answer of GET /v1/tokens (secrets are never listed).
type TokenList struct {
	Tokens []Token `json:"tokens"`
	Next   string  `json:"next,omitempty"`
}

// ACLBootstrapRequest is the optional body of POST /v1/acl/bootstrap. The endpoint succeeds once
// per cluster and answers with the first management token, secret included. With User (and
// Password), the same one-time operation also creates that user with AdministratorAccess: the
// first administrator, who signs in with slipway login.
type ACLBootstrapRequest struct {
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
}
