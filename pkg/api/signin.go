package api

import "time"

// CodeMFARequired is the 401 of POST /v1/iam/login when the password was right but the user has
// MFA enrolled and no code was given: ask for the TOTP code (or a recovery code) and send the
// request again with it.
const CodeMFARequired = "mfa_required"

// Sign-in bounds: a session lives DefaultSessionTTL unless the request asks otherwise, and at
// most MaxSessionTTL.
const (
	DefaultSessionTTL = 12 * time.Hour
	MaxSessionTTL     = 7 * 24 * time.Hour
)

// LoginRequest is the body of POST /v1/iam/login. Code is the current TOTP code of a user with
// MFA; RecoveryCode one of their one-time recovery codes instead. TTL is a Go duration (default
// 12h, at most 168h).
type LoginRequest struct {
	User         string `json:"user"`
	Password     string `json:"password"`
	Code         string `json:"code,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
	TTL          string `json:"ttl,omitempty"`
}

// MFAEnrollment is the answer of POST /v1/iam/users/{name}/mfa: the new TOTP secret, as an
// otpauth:// URL for authenticator apps and as a QR code drawn for a terminal. The enrolment
// protects nothing until it is confirmed with a code.
type MFAEnrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QR         string `json:"qr"`
}

// MFAConfirmRequest is the body of POST /v1/iam/users/{name}/mfa/confirm: a code the
// authenticator app shows for the pending secret.
type MFAConfirmRequest struct {
	Code string `json:"code"`
}

// MFAConfirmation is the answer of POST /v1/iam/users/{name}/mfa/confirm: the one-time recovery
// codes, shown this once.
type MFAConfirmation struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// AssumeRoleRequest is the body of POST /v1/sts/roles/{name}/assume. Duration is a Go duration
// (default 1h, at most the role's max session); SessionName names the token; Policy is an
// optional session policy (JSON or YAML) that narrows the role's own.
type AssumeRoleRequest struct {
	Duration    string `json:"duration,omitempty"`
	SessionName string `json:"session_name,omitempty"`
	Policy      string `json:"policy,omitempty"`
}

// RoleCredentials is the answer of POST /v1/sts/roles/{name}/assume: a temporary token acting as
// the role until Expiration. The secret is shown this once.
type RoleCredentials struct {
	Secret     string    `json:"secret"`
	Accessor   string    `json:"accessor"`
	Expiration time.Time `json:"expiration"`
	Role       string    `json:"role"`
	Source     string    `json:"source"`
	MFA        bool      `json:"mfa,omitempty"`
}
