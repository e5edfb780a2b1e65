package kv

import (
	"context"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// maxPageBytes is about how many bytes of values one list answer carries (at least one entry).
const maxPageBytes = 1 << 20

// Entries is the Go API of the key/value store: HTTP handlers, and other services that keep
// settings in it, call it so that the rules live once. Writes propose a command under ctx
// (which carries the request's idempotency key, see api.Kit.WriteContext) and answer once it is
// applied; reads look at this server's state (callers make them consistent first when they
// must, see api.Kit.ReadBarrier).
type Entries struct{ core *module.Core }

// Get returns a key's entry; a missing key is not found.
func (s *Entries) Get(_ context.Context, key string) (pub.KVEntry, error) {
	if err := ValidateKey(key); err != nil {
		return pub.KVEntry{}, err
	}
	var e Entry
	var ok bool
	err := s.core.State.View(func(tx *state.Tx) error {
		var err error
		e, ok, err = getEntry(tx, key)
		return err
	})
	if err != nil {
		return pub.KVEntry{}, err
	}
	if !ok {
		return pub.KVEntry{}, fault.New(fault.NotFound, "key %s not found", state.Shorten(key))
	}
	return view(e), nil
}

// List returns a page of the entries whose key starts with prefix, in key order, and the cursor
// of the next page ("" at the end). A page holds at most page.Limit entries and stops early once
// it carries about 1 MiB of values.
func (s *Entries) List(_ context.Context, prefix string, page api.Page) ([]pub.KVEntry, string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, "", err
	}
	var list []Entry
	var next string
	err := s.core.State.View(func(tx *state.Tx) error {
		var err error
		list, next, err = listEntries(tx, prefix, page.After, page.Limit, maxPageBytes)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]pub.KVEntry, 0, len(list))
	for _, e := range list {
		out = append(out, view(e))
	}
	return out, next, nil
}

// Put writes a key's value and returns the entry as written. cas (nil: unconditional) is a
// precondition: 0 writes only a key that does not exist, N only a key whose modify index is N.
// A failed precondition, and a new key when the store holds MaxKeys, are conflicts; a value over
// MaxValueLen is too large.
func (s *Entries) Put(ctx context.Context, key string, value []byte, cas *uint64) (pub.KVEntry, error) {
	if err := ValidateKey(key); err != nil {
		return pub.KVEntry{}, err
	}
	if err := validateValue(key, value); err != nil {
		return pub.KVEntry{}, err
	}
	res, err := command.Propose(ctx, s.core.Cluster, cmdPut, s.core.Now(), PutPayload{Key: key, Value: value, CAS: cas})
	if err != nil {
		return pub.KVEntry{}, err
	}
	e, err := command.Data[Entry](res)
	if err != nil {
		return pub.KVEntry{}, err
	}
	return view(e), nil
}

// Delete deletes a key; a missing one is not found. cas (nil: unconditional) is a precondition:
// the key's modify index must still be *cas, which cannot be 0.
func (s *Entries) Delete(ctx context.Context, key string, cas *uint64) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if cas != nil && *cas == 0 {
		return fault.New(fault.Invalid, "cas=0 means create only, which a delete cannot be: give the key's modify index")
	}
	_, err := command.Propose(ctx, s.core.Cluster, cmdDelete, s.core.Now(), DeletePayload{Key: key, CAS: cas})
	return err
}

func view(e Entry) pub.KVEntry {
	return pub.KVEntry{Key: e.Key, Value: e.Value, CreateIndex: e.CreateIndex, ModifyIndex: e.ModifyIndex}
}
