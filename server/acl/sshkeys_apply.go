package acl

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func applySSHKeyAdd(tx *state.Tx, index uint64, c *command.Command, p SSHKeyAddPayload) (any, error) {
	if _, err := getUser(tx, p.User); err != nil {
		return nil, err
	}
	if k, ok, err := state.Get[SSHKey](tx, bucketSSHKeys, p.Fingerprint); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "SSH key %s already belongs to user %s: a key belongs to one user", p.Fingerprint, k.User)
		}
		return nil, err
	}
	n := 0
	if err := eachRecord(tx, bucketSSHKeys, func(k SSHKey) {
		if k.User == p.User {
			n++
		}
	}); err != nil {
		return nil, err
	}
	if n >= MaxSSHKeysPerUser {
		return nil, fault.New(fault.Invalid, "user %s has %d SSH keys, the most one user may have: remove one first", p.User, n)
	}
	k := SSHKey{Fingerprint: p.Fingerprint, User: p.User, Type: p.Type, Bits: p.Bits, Comment: p.Comment,
		PublicKey: p.PublicKey, AddTime: c.Time, CreateIndex: index}
	return k, state.Put(tx, bucketSSHKeys, k.Fingerprint, k)
}

func applySSHKeyRemove(tx *state.Tx, _ uint64, _ *command.Command, p SSHKeyRemovePayload) (any, error) {
	k, ok, err := state.Get[SSHKey](tx, bucketSSHKeys, p.Fingerprint)
	if err == nil && (!ok || (p.User != "" && k.User != p.User)) {
		err = fault.New(fault.NotFound, "SSH key %s not found", state.Shorten(p.Fingerprint))
	}
	if err != nil {
		return nil, err
	}
	return nil, state.Delete(tx, bucketSSHKeys, p.Fingerprint)
}
