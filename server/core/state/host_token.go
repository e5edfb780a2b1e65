package state

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// HostToken is a registration token: it lets an agent register a host, nothing else. Its Tags
// are given to every host registering with it and win over the agent's own; an agent may only
// add tags whose "key=value" matches one of AllowTags (path.Match patterns). MaxUses (0: no
// limit) bounds how many new hosts it registers; Uses counts them.
type HostToken struct {
	AccessorID     string            `json:"accessor_id"`
	SecretHash     string            `json:"secret_hash"`
	Tags           map[string]string `json:"tags,omitempty"`
	AllowTags      []string          `json:"allow_tags,omitempty"`
	MaxUses        int               `json:"max_uses,omitempty"`
	Uses           int               `json:"uses,omitempty"`
	CreateTime     time.Time         `json:"create_time"`
	ExpirationTime *time.Time        `json:"expiration_time,omitempty"`
	CreateIndex    uint64            `json:"create_index"`
	ModifyIndex    uint64            `json:"modify_index,omitempty"`
}

// Expired reports whether the token has expired at now.
func (ht *HostToken) Expired(now time.Time) bool {
	return ht.ExpirationTime != nil && !now.Before(*ht.ExpirationTime)
}

// UsedUp reports whether the token has registered its maximum number of hosts.
func (ht *HostToken) UsedUp() bool { return ht.MaxUses > 0 && ht.Uses >= ht.MaxUses }

// HostTokens is the registration tokens of a transaction (Tx.HostTokens).
type HostTokens struct{ t *Tx }

// HostTokens returns the transaction's registration tokens.
func (t *Tx) HostTokens() HostTokens { return HostTokens{t} }

// Create stores a registration token.
func (v HostTokens) Create(ht HostToken) error {
	t := v.t
	if t.tx.Bucket(bucketHostTokHash).Get([]byte(ht.SecretHash)) != nil {
		return fault.New(fault.Conflict, "registration token already exists")
	}
	if err := t.put(bucketHostTokens, []byte(ht.AccessorID), ht); err != nil {
		return err
	}
	return t.tx.Bucket(bucketHostTokHash).Put([]byte(ht.SecretHash), []byte(ht.AccessorID))
}

// BySecretHash finds a registration token.
func (v HostTokens) BySecretHash(hash string) (HostToken, error) {
	t := v.t
	var ht HostToken
	acc := t.tx.Bucket(bucketHostTokHash).Get([]byte(hash))
	if acc == nil {
		return ht, fault.New(fault.NotFound, "registration token not found")
	}
	ok, err := t.get(bucketHostTokens, acc, &ht)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "registration token not found")
	}
	return ht, err
}

// Get returns a registration token by accessor.
func (v HostTokens) Get(accessor string) (HostToken, error) {
	t := v.t
	var ht HostToken
	ok, err := t.get(bucketHostTokens, []byte(accessor), &ht)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "registration token %q not found: see slipway host token list", accessor)
	}
	return ht, err
}

// Put replaces a registration token record (its accessor and secret must not change).
func (v HostTokens) Put(ht HostToken) error {
	t := v.t
	return t.put(bucketHostTokens, []byte(ht.AccessorID), ht)
}

// Delete removes a registration token; its secret stops working at once.
func (v HostTokens) Delete(accessor string) error {
	t := v.t
	ht, err := t.HostTokens().Get(accessor)
	if err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketHostTokHash).Delete([]byte(ht.SecretHash)); err != nil {
		return err
	}
	return t.tx.Bucket(bucketHostTokens).Delete([]byte(accessor))
}

// List returns registration tokens in accessor order, a page at a time.
func (v HostTokens) List(after string, limit int) ([]HostToken, string, error) {
	t := v.t
	return list[HostToken](t, bucketHostTokens, after, limit, nil)
}
