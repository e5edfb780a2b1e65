// Package auth makes and checks API secrets. Secrets are 32 random bytes, shown to their owner
// once; the cluster stores only their SHA-256 (a secret this long needs no slow hash), and looks
// tokens up by that hash.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// SecretPrefix starts every Slipway API secret, so leaked ones are easy to recognise and scan for.
const SecretPrefix = "slw_"

// NewSecret returns a fresh secret.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashSecret returns the hex SHA-256 of a secret, the form stored in the state.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Identity is who a request acts as: a person or program with an API token, an agent acting as
// its host, or an agent registering with a registration token.
type Identity struct {
	Token     state.Token
	Host      *state.Host      // set for host-secret requests
	HostToken *state.HostToken // set for registration requests
}

// ResolveHost finds the host a presented host secret belongs to.
func ResolveHost(r Reader, secret string) (*Identity, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil, fault.New(fault.Unauthorized, "this endpoint is for agents: it needs the host secret")
	}
	var h state.Host
	err := r.View(func(tx *state.Tx) error {
		var err error
		h, err = tx.HostBySecretHash(HashSecret(secret))
		return err
	})
	if err != nil {
		return nil, fault.New(fault.Unauthorized, "the host secret is not valid (unknown, or the host was deleted): re-register the agent with a new registration token")
	}
	return &Identity{Host: &h}, nil
}

// ResolveRegistration finds the registration token a presented secret belongs to. An unknown or
// revoked secret is refused without saying which; an expired one is named as expired (its
// holder knows the secret, so this tells a guesser nothing). Whether a token is used up is
// decided by the FSM, because a host registering again does not use it.
func ResolveRegistration(r Reader, secret string, now time.Time) (*Identity, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil, fault.New(fault.Unauthorized, "registration needs a registration token: slipway host token create")
	}
	var ht state.HostToken
	err := r.View(func(tx *state.Tx) error {
		var err error
		ht, err = tx.HostTokens().BySecretHash(HashSecret(secret))
		return err
	})
	if err != nil {
		return nil, fault.New(fault.Unauthorized, "the registration token is not valid (unknown or revoked): create one with slipway host token create")
	}
	if ht.Expired(now) {
		return nil, fault.New(fault.Unauthorized, "the registration token expired at %s: create a new one with slipway host token create", ht.ExpirationTime.UTC().Format(time.RFC3339))
	}
	return &Identity{HostToken: &ht}, nil
}

// Management reports whether the identity may do everything.
func (id *Identity) Management() bool {
	return id.Host == nil && id.HostToken == nil && id.Token.Type == api.TokenTypeManagement
}

// Reader is the read access to the state that Resolve needs.
type Reader interface {
	View(func(*state.Tx) error) error
}

// Resolve finds the token for a presented secret. An unknown or expired secret is Unauthorized;
// the message never says which, to avoid helping a guesser.
func Resolve(r Reader, secret string, now time.Time) (*Identity, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil, fault.New(fault.Unauthorized, "this endpoint needs a token: send Authorization: Bearer <secret>")
	}
	var tk state.Token
	err := r.View(func(tx *state.Tx) error {
		var err error
		tk, err = tx.TokenBySecretHash(HashSecret(secret))
		return err
	})
	if err != nil || tk.Expired(now) {
		return nil, fault.New(fault.Unauthorized, "the token is not valid (unknown, revoked or expired)")
	}
	return &Identity{Token: tk}, nil
}
