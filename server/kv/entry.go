package kv

import (
	"bytes"
	"encoding/binary"
	"encoding/json"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The store's buckets. Their names and the JSON of their records are in snapshots: never change
// them.
var (
	bucketEntries = []byte("kv/entries") // key → Entry
	bucketMeta    = []byte("kv/meta")    // "count" → number of keys, uint64 big endian
)

var metaCount = []byte("count")

// Entry is one key's record. Value is stored as given (JSON base64).
type Entry struct {
	Key         string `json:"key"`
	Value       []byte `json:"value"`
	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// getEntry returns a key's record; ok is false when there is none.
func getEntry(tx *state.Tx, key string) (Entry, bool, error) {
	return state.Get[Entry](tx, bucketEntries, key)
}

// count is the number of keys in the store.
func count(tx *state.Tx) uint64 {
	b := tx.Bucket(bucketMeta).Get(metaCount)
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func setCount(tx *state.Tx, n uint64) error {
	return tx.Bucket(bucketMeta).Put(metaCount, binary.BigEndian.AppendUint64(nil, n))
}

// putEntry writes a record, counting it when it is a new key.
func putEntry(tx *state.Tx, e Entry, isNew bool) error {
	if err := state.Put(tx, bucketEntries, e.Key, e); err != nil {
		return err
	}
	if isNew {
		return setCount(tx, count(tx)+1)
	}
	return nil
}

// deleteEntry removes an existing key's record and uncounts it.
func deleteEntry(tx *state.Tx, key string) error {
	if err := state.Delete(tx, bucketEntries, key); err != nil {
		return err
	}
	if n := count(tx); n > 0 {
		return setCount(tx, n-1)
	}
	return nil
}

// listEntries returns, in key order, up to limit records whose key starts with prefix and comes
// after the key "after", stopping early once their values reach maxBytes (always returning at
// least one). next is the key to continue after, "" when no more match.
func listEntries(tx *state.Tx, prefix, after string, limit, maxBytes int) (out []Entry, next string, err error) {
	c := tx.Bucket(bucketEntries).Cursor()
	p := []byte(prefix)
	var k, v []byte
	if after != "" && after >= prefix {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(p)
	}
	size := 0
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if len(out) == limit || (len(out) > 0 && size >= maxBytes) {
			return out, out[len(out)-1].Key, nil
		}
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, "", fault.New(fault.Internal, "decode kv entry %q: %v", k, err)
		}
		size += len(e.Value)
		out = append(out, e)
	}
	return out, "", nil
}
