package fsm

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// wrappedKeyLen is a wrapped data key's size: a 12-byte nonce, 32 key bytes and a 16-byte tag.
const wrappedKeyLen = 12 + 32 + 16

func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') { //nolint:staticcheck // reads as the set it accepts
			return false
		}
	}
	return true
}

// applyKeyringAdd stores a wrapped data key and makes it the active one. Every key of a cluster
// must be wrapped by the same key-encryption key: a key from a server with another KEK file would
// be unreadable everywhere else, so it is refused.
func applyKeyringAdd(tx *state.Tx, index uint64, c *command.Command, p command.KeyringAdd) (any, error) {
	if !validKeyID(p.ID) || len(p.Wrapped) != wrappedKeyLen || p.KEK == "" {
		return nil, fault.New(fault.Invalid, "a data key needs an id of 1-64 characters a-z 0-9 -, a %d-byte wrapped key and the KEK fingerprint", wrappedKeyLen)
	}
	keys, err := tx.ListDataKeys()
	if err != nil {
		return nil, err
	}
	if p.First && len(keys) > 0 {
		return nil, fault.New(fault.Conflict, "the keyring already has its first data key (%s)", keys[0].ID)
	}
	if len(keys) > 0 && keys[0].KEK != p.KEK {
		return nil, fault.New(fault.Invalid,
			"the new data key is wrapped by key-encryption key %s, but this cluster's keys are wrapped by %s: the proposing server has another --keyring-kek-file than the cluster; give it the cluster's file", p.KEK, keys[0].KEK)
	}
	k := state.DataKey{ID: p.ID, Wrapped: p.Wrapped, KEK: p.KEK, Active: true, CreateTime: c.Time, CreateIndex: index}
	return k, tx.AddDataKey(k)
}
