package api

import (
	"context"
	"net/http"
	"net/url"
)

// Login signs a user in with a password (and, when they have MFA, req.Code or
// req.RecoveryCode) and returns a session token, secret included. A user with MFA who gave no
// code gets an *Error with Code CodeMFARequired.
func (c *Client) Login(ctx context.Context, req LoginRequest) (*Token, error) {
	var t Token
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/iam/login", in: req, out: &t})
	return &t, err
}

// Logout ends the session (or role session) whose secret the client sends.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/sts/session"})
}

// WhoAmI returns who the client's token acts as (GET /v1/sts/caller-identity).
func (c *Client) WhoAmI(ctx context.Context) (*CallerIdentity, error) {
	var out CallerIdentity
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/sts/caller-identity", out: &out})
	return &out, err
}

// AssumeRole asks for temporary credentials of a role.
func (c *Client) AssumeRole(ctx context.Context, role string, req AssumeRoleRequest) (*RoleCredentials, error) {
	var out RoleCredentials
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/sts/roles/" + url.PathEscape(role) + "/assume", in: req, out: &out})
	return &out, err
}

// MFAEnroll starts a user's TOTP enrolment and returns the secret to put in an authenticator.
func (c *Client) MFAEnroll(ctx context.Context, user string) (*MFAEnrollment, error) {
	var out MFAEnrollment
	err := c.do(ctx, request{method: http.MethodPost, path: mfaPath(user), in: struct{}{}, out: &out})
	return &out, err
}

// MFAConfirm confirms a pending enrolment with a code and returns the recovery codes (shown once).
func (c *Client) MFAConfirm(ctx context.Context, user, code string) (*MFAConfirmation, error) {
	var out MFAConfirmation
	err := c.do(ctx, request{method: http.MethodPost, path: mfaPath(user) + "/confirm", in: MFAConfirmRequest{Code: code}, out: &out})
	return &out, err
}

// MFADisable removes a user's MFA device.
func (c *Client) MFADisable(ctx context.Context, user string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: mfaPath(user)})
}

func mfaPath(user string) string { return "/v1/iam/users/" + url.PathEscape(user) + "/mfa" }

// ACLBootstrapAdmin bootstraps the cluster as ACLBootstrap does and, in the same one-time
// operation, creates user with password and AdministratorAccess attached.
func (c *Client) ACLBootstrapAdmin(ctx context.Context, user, password string) (*Token, error) {
	var t Token
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/acl/bootstrap", in: ACLBootstrapRequest{User: user, Password: password}, out: &t})
	return &t, err
}
