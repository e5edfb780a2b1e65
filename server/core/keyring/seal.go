package keyring

import (
	"crypto/rand"
	"errors"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// sealVersion is the first byte of a sealed record.
const sealVersion byte = 1

// Seal encrypts a secret for the replicated state under the active data key. aad names the
// record the secret belongs to (for instance "build-secret:APP/NAME"): Open with another aad
// fails, so a sealed value copied into another record does not decrypt there.
//
// Format: version (1) | key id length (1) | key id | nonce (12) | AES-256-GCM ciphertext and tag.
// Call it on the proposer, before the command is built: the FSM only ever stores sealed bytes.
func (r *Ring) Seal(plaintext, aad []byte) ([]byte, error) {
	id, key, err := r.Active()
	if err != nil {
		return nil, err
	}
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 2+len(id)+g.NonceSize()+len(plaintext)+g.Overhead())
	out = append(out, sealVersion, byte(len(id)))
	out = append(out, id...)
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return g.Seal(out, nonce, plaintext, sealAD(id, aad)), nil
}

// Open decrypts what Seal returned for the same aad. Damaged bytes, another record's value or an
// unknown key fail; it never returns unauthenticated bytes.
func (r *Ring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != sealVersion || len(sealed) < 2+int(sealed[1]) {
		return nil, errors.New("sealed value: unknown format")
	}
	id := string(sealed[2 : 2+int(sealed[1])])
	rest := sealed[2+len(id):]
	key, err := r.Key(id)
	if err != nil {
		return nil, err
	}
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(rest) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("sealed value: too short")
	}
	p, err := g.Open(nil, rest[:g.NonceSize()], rest[g.NonceSize():], sealAD(id, aad))
	if err != nil {
		return nil, fault.New(fault.Internal, "sealed value under data key %s does not authenticate: it was damaged or belongs to another record", id)
	}
	return p, nil
}

func sealAD(id string, aad []byte) []byte {
	return append([]byte("slipway sealed v1\x00"+id+"\x00"), aad...)
}

// SealedKeyID returns the id of the data key a value returned by Seal is sealed under ("" for
// bytes that are not a sealed value), so a service can tell which of its records are still under
// an older key after a rotation. It authenticates nothing.
func SealedKeyID(sealed []byte) string {
	if len(sealed) < 2 || sealed[0] != sealVersion || len(sealed) < 2+int(sealed[1]) {
		return ""
	}
	return string(sealed[2 : 2+int(sealed[1])])
}
