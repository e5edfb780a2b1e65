package acl

import "github.com/slipwayhq/slipway/server/core/command"

// The ACL service's commands. Their numbers, names, schema versions and payload JSON are part of
// the Raft log format: never change them. They are exported for tools and tests that write
// commands directly (the testbed's probe, the server's TLS tests).
var (
	CmdBootstrap   = command.Define[BootstrapPayload](10, "acl.bootstrap", 1)
	CmdCreateToken = command.Define[CreateTokenPayload](11, "token.create", 2)
	CmdRevokeToken = command.Define[RevokeTokenPayload](12, "token.revoke", 1)
)

// Token is the token record carried by the bootstrap and create commands. SecretHash is the hex
// SHA-256 of the secret; the secret itself never enters the log.
type Token struct {
	AccessorID     string   `json:"accessor_id"`
	SecretHash     string   `json:"secret_hash"`
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	Policies       []string `json:"policies,omitempty"`
	ExpirationTime int64    `json:"expiration_time,omitempty"` // unix nanos; 0 = never

	// Schema 2 (the identity service): whose token it is and what narrows it; see state.Token.
	User    string `json:"user,omitempty"`
	Role    string `json:"role,omitempty"`
	Source  string `json:"source,omitempty"`
	MFA     bool   `json:"mfa,omitempty"`
	MFATime int64  `json:"mfa_time,omitempty"` // unix nanos
	Scope   string `json:"scope,omitempty"`
}

// BootstrapPayload creates the first management token; refused once the cluster is bootstrapped.
type BootstrapPayload struct {
	Token Token `json:"token"`
}

// CreateTokenPayload creates a token.
type CreateTokenPayload struct {
	Token Token `json:"token"`
}

// RevokeTokenPayload deletes a token by accessor.
type RevokeTokenPayload struct {
	AccessorID string `json:"accessor_id"`
}
