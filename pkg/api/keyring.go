package api

import (
	"context"
	"net/http"
	"time"
)

// KeyringKey is one data key of the cluster keyring: its identity and state, never key material.
type KeyringKey struct {
	ID string `json:"id"`
	// Active marks the key new blob files and sealed records are written under.
	Active bool `json:"active"`
	// KEKFingerprint names the key-encryption key that wrapped it (an HMAC under the KEK, which
	// reveals nothing about it).
	KEKFingerprint string    `json:"kek_fingerprint"`
	CreateTime     time.Time `json:"create_time"`
	CreateIndex    uint64    `json:"create_index"`
	// LocalBlobs counts the answering server's blob files under this key, as of its last
	// re-encryption scan; after a rotation it falls to 0 as files are rewritten.
	LocalBlobs int `json:"local_blobs"`
}

// Keyring is the cluster keyring as one server sees it.
type Keyring struct {
	// Node is the server that answered; LocalBlobs counts are its own.
	Node string `json:"node"`
	// KEKFingerprint is the fingerprint of that server's key-encryption key file.
	KEKFingerprint string       `json:"kek_fingerprint"`
	Keys           []KeyringKey `json:"keys"`
	// LocalUnencrypted counts that server's blob files written before encryption at rest and
	// not yet encrypted.
	LocalUnencrypted int `json:"local_unencrypted,omitempty"`
}

// KeyringGet lists the data keys of the cluster keyring (management token).
func (c *Client) KeyringGet(ctx context.Context) (*Keyring, error) {
	var k Keyring
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/operator/keyring", out: &k})
	return &k, err
}

// KeyringRotate adds a new data key that becomes active for new writes; files under older keys
// stay readable and are re-encrypted in the background by every server.
func (c *Client) KeyringRotate(ctx context.Context) (*KeyringKey, error) {
	var k KeyringKey
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/operator/keyring/rotate", out: &k})
	return &k, err
}
