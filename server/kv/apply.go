package kv

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// applyPut writes a key. It checks everything before writing (a refused put changes nothing):
// the key and value bounds, the CAS precondition, and, for a new key, the maximum of keys. The
// record keeps its create index across updates; its modify index is the command's. It returns
// the record as written.
func applyPut(tx *state.Tx, index uint64, _ *command.Command, p PutPayload) (any, error) {
	if err := ValidateKey(p.Key); err != nil {
		return nil, err
	}
	if err := validateValue(p.Key, p.Value); err != nil {
		return nil, err
	}
	old, exists, err := getEntry(tx, p.Key)
	if err != nil {
		return nil, err
	}
	if err := checkCAS(p.Key, p.CAS, old, exists); err != nil {
		return nil, err
	}
	e := Entry{Key: p.Key, Value: p.Value, CreateIndex: index, ModifyIndex: index}
	if e.Value == nil {
		e.Value = []byte{}
	}
	if exists {
		e.CreateIndex = old.CreateIndex
	} else if n := count(tx); n >= MaxKeys {
		return nil, fault.New(fault.Conflict, "the cluster already holds its maximum of %d keys: delete keys that are no longer needed before adding %s", MaxKeys, state.Shorten(p.Key))
	}
	return e, putEntry(tx, e, !exists)
}

// applyDelete deletes a key; a missing one is not found (or a conflict under a CAS).
func applyDelete(tx *state.Tx, _ uint64, _ *command.Command, p DeletePayload) (any, error) {
	if err := ValidateKey(p.Key); err != nil {
		return nil, err
	}
	old, exists, err := getEntry(tx, p.Key)
	if err != nil {
		return nil, err
	}
	if p.CAS != nil {
		if *p.CAS == 0 {
			return nil, fault.New(fault.Invalid, "cas=0 means create only, which a delete cannot be: give the key's modify index")
		}
		if err := checkCAS(p.Key, p.CAS, old, exists); err != nil {
			return nil, err
		}
	}
	if !exists {
		return nil, fault.New(fault.NotFound, "key %s not found", state.Shorten(p.Key))
	}
	return nil, deleteEntry(tx, p.Key)
}

// checkCAS checks a write's precondition against the key's record: none (nil) always holds; 0
// holds while the key does not exist; N holds while it exists with modify index N.
func checkCAS(key string, cas *uint64, old Entry, exists bool) error {
	switch {
	case cas == nil:
		return nil
	case *cas == 0 && exists:
		return fault.New(fault.Conflict, "key %s already exists (modify index %d); cas=0 writes only a key that does not", state.Shorten(key), old.ModifyIndex)
	case *cas == 0:
		return nil
	case !exists:
		return fault.New(fault.Conflict, "key %s does not exist, so its modify index is not %d: it was deleted, or never written", state.Shorten(key), *cas)
	case old.ModifyIndex != *cas:
		return fault.New(fault.Conflict, "key %s was modified at index %d, not %d: read it again and retry", state.Shorten(key), old.ModifyIndex, *cas)
	}
	return nil
}
