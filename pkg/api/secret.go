package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Secret is a secret's metadata, as DescribeSecret and ListSecrets answer it: never its value.
// Version counts the secret's values (1 for the first); pass it as the cas of the next write to
// make it conditional. ID names this life of the secret (a secret deleted and created again gets
// another). KeyID is the cluster data key the current value is sealed under (see `slipway
// operator keyring list`).
type Secret struct {
	Name        string    `json:"name"`
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Version     uint64    `json:"version"`
	KeyID       string    `json:"key_id"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	CreateTime  time.Time `json:"create_time"`
	ModifyTime  time.Time `json:"modify_time"`
	CreatedBy   string    `json:"created_by,omitempty"`
	ModifiedBy  string    `json:"modified_by,omitempty"`
}

// SecretValue is the answer of GetSecretValue: the secret's current value (base64 in JSON) and
// its version.
type SecretValue struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Value   []byte `json:"value"`
}

// SecretPutRequest is the body of PUT /v1/secrets/{name}. Description nil keeps the secret's
// description. CAS, when set, makes the write conditional on the version: 0 writes only a secret
// that does not exist yet, N only one whose version is still N.
type SecretPutRequest struct {
	Value       []byte  `json:"value"`
	Description *string `json:"description,omitempty"`
	CAS         *uint64 `json:"cas,omitempty"`
}

// SecretList is the answer of GET /v1/secrets: metadata in name order; Next continues it.
type SecretList struct {
	Secrets []Secret `json:"secrets"`
	Next    string   `json:"next,omitempty"`
}

// secretPath is a secret's path under base: each segment escaped on its own, so the slashes stay
// slashes. A name that is not a relative path of non-empty segments is refused here: HTTP
// routers clean such paths and redirect, which would name another secret.
func secretPath(base, name string) (string, error) {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf(
				"secret name %q is not a relative path of non-empty segments without . or ..: use one such as prod/db/password", name)}
		}
		segs[i] = url.PathEscape(s)
	}
	return base + strings.Join(segs, "/"), nil
}

// SecretGet returns a secret's metadata (DescribeSecret); a missing secret is a not_found error.
func (c *Client) SecretGet(ctx context.Context, name string, q *QueryOptions) (*Secret, error) {
	var s Secret
	p, err := secretPath("/v1/secrets/", name)
	if err == nil {
		err = c.do(ctx, request{method: http.MethodGet, path: p, query: q.values(), out: &s})
	}
	return &s, err
}

// SecretValueGet returns a secret's current value (GetSecretValue). It needs a policy that allows
// secretsmanager:GetSecretValue on the secret; every read is in the audit trail.
func (c *Client) SecretValueGet(ctx context.Context, name string) (*SecretValue, error) {
	var v SecretValue
	p, err := secretPath("/v1/secret-values/", name)
	if err == nil {
		err = c.do(ctx, request{method: http.MethodGet, path: p, out: &v})
	}
	return &v, err
}

// SecretList lists a page of the secrets whose name starts with prefix ("" for all), in name
// order, metadata only.
func (c *Client) SecretList(ctx context.Context, prefix string, q *QueryOptions) (*SecretList, error) {
	v := q.values()
	if prefix != "" {
		v.Set("prefix", prefix)
	}
	var l SecretList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/secrets", query: v, out: &l})
	return &l, err
}

// SecretPut writes a secret's next value and answers with its metadata as written. req.CAS (see
// CAS) makes the write conditional on the version; a failed precondition is a conflict
// (IsConflict) and changes nothing.
func (c *Client) SecretPut(ctx context.Context, name string, req SecretPutRequest) (*Secret, error) {
	var s Secret
	p, err := secretPath("/v1/secrets/", name)
	if err == nil {
		err = c.do(ctx, request{method: http.MethodPut, path: p, in: req, out: &s})
	}
	return &s, err
}

// SecretDelete deletes a secret; a missing one is a not_found error. A non-nil cas deletes only
// while the secret's version is *cas (a conflict otherwise).
func (c *Client) SecretDelete(ctx context.Context, name string, cas *uint64) error {
	var q url.Values
	if cas != nil {
		q = url.Values{"cas": {strconv.FormatUint(*cas, 10)}}
	}
	p, err := secretPath("/v1/secrets/", name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p, query: q})
}
