package state

import (
	"encoding/json"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

var (
	bucketTokens    = []byte("tokens")     // accessor -> Token
	bucketTokenHash = []byte("token_hash") // secret hash -> accessor
)

// Token is an API token record. Only the SHA-256 of the secret is stored.
//
// Type says whose token it is: a service token ("management", "client": a principal of its
// own, with the built-in policy of its type and the ones attached by name in Policies), a
// user's personal access token ("user"), a user's sign-in session ("session") or a role's
// temporary credentials ("role"). User names the user of the last three; Role and Source (the
// principal that assumed it, "user/alice") a role session's; MFA whether the session was
// opened with a second factor (at MFATime); Scope, when set, a policy document (JSON) that
// narrows what the token may do below what its principal may.
type Token struct {
	AccessorID     string     `json:"accessor_id"`
	SecretHash     string     `json:"secret_hash"`
	Name           string     `json:"name"`
	Type           string     `json:"type"`
	Policies       []string   `json:"policies,omitempty"`
	User           string     `json:"user,omitempty"`
	Role           string     `json:"role,omitempty"`
	Source         string     `json:"source,omitempty"`
	MFA            bool       `json:"mfa,omitempty"`
	MFATime        *time.Time `json:"mfa_time,omitempty"`
	Scope          string     `json:"scope,omitempty"`
	CreateTime     time.Time  `json:"create_time"`
	ExpirationTime *time.Time `json:"expiration_time,omitempty"`
	CreateIndex    uint64     `json:"create_index"`
}

// Expired reports whether the token has expired at now.
func (tk *Token) Expired(now time.Time) bool {
	return tk.ExpirationTime != nil && !now.Before(*tk.ExpirationTime)
}

// CreateToken stores a token; an accessor or secret hash already present is a conflict.
func (t *Tx) CreateToken(tk Token) error {
	if tk.AccessorID == "" || len(tk.SecretHash) != 64 {
		return fault.New(fault.Invalid, "token needs an accessor and a sha256 secret hash")
	}
	if t.tx.Bucket(bucketTokens).Get([]byte(tk.AccessorID)) != nil ||
		t.tx.Bucket(bucketTokenHash).Get([]byte(tk.SecretHash)) != nil {
		return fault.New(fault.Conflict, "token %s already exists", tk.AccessorID)
	}
	if err := t.put(bucketTokens, []byte(tk.AccessorID), tk); err != nil {
		return err
	}
	return t.tx.Bucket(bucketTokenHash).Put([]byte(tk.SecretHash), []byte(tk.AccessorID))
}

// GetToken returns a token by accessor.
func (t *Tx) GetToken(accessor string) (Token, error) {
	var tk Token
	ok, err := t.get(bucketTokens, []byte(accessor), &tk)
	if err != nil {
		return tk, err
	}
	if !ok {
		return tk, fault.New(fault.NotFound, "token %q not found", accessor)
	}
	return tk, nil
}

// TokenBySecretHash returns the token whose secret hashes to hash.
func (t *Tx) TokenBySecretHash(hash string) (Token, error) {
	acc := t.tx.Bucket(bucketTokenHash).Get([]byte(hash))
	if acc == nil {
		return Token{}, fault.New(fault.NotFound, "token not found")
	}
	return t.GetToken(string(acc))
}

// DeleteToken removes a token; a missing one is not found.
func (t *Tx) DeleteToken(accessor string) error {
	tk, err := t.GetToken(accessor)
	if err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketTokenHash).Delete([]byte(tk.SecretHash)); err != nil {
		return err
	}
	return t.tx.Bucket(bucketTokens).Delete([]byte(accessor))
}

// ListTokens returns tokens in accessor order, a page at a time.
func (t *Tx) ListTokens(after string, limit int) ([]Token, string, error) {
	return list[Token](t, bucketTokens, after, limit, nil)
}

// UpdateToken rewrites a stored token's record (its attached policies); the accessor and secret
// hash must be the stored ones.
func (t *Tx) UpdateToken(tk Token) error {
	old, err := t.GetToken(tk.AccessorID)
	if err != nil {
		return err
	}
	if old.SecretHash != tk.SecretHash {
		return fault.New(fault.Internal, "token %s: an update must not change the secret hash", tk.AccessorID)
	}
	return t.put(bucketTokens, []byte(tk.AccessorID), tk)
}

// EachToken calls fn for every token in accessor order until fn returns false.
func (t *Tx) EachToken(fn func(Token) bool) error {
	c := t.tx.Bucket(bucketTokens).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var tk Token
		if err := json.Unmarshal(v, &tk); err != nil {
			return err
		}
		if !fn(tk) {
			return nil
		}
	}
	return nil
}
