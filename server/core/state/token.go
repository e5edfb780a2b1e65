package state

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

var (
	bucketTokens    = []byte("tokens")     // accessor -> Token
	bucketTokenHash = []byte("token_hash") // secret hash -> accessor
)

// Token is an API token record. Only the SHA-256 of the secret is stored.
type Token struct {
	AccessorID     string     `json:"accessor_id"`
	SecretHash     string     `json:"secret_hash"`
	Name           string     `json:"name"`
	Type           string     `json:"type"`
	Policies       []string   `json:"policies,omitempty"`
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
