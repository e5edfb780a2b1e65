package git

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The service's buckets. Their names and the JSON of their records are in snapshots: never
// change them.
var (
	bucketRepos = []byte("git/repos") // repo ID → Record
	bucketNames = []byte("git/names") // name → repo ID
	bucketRefs  = []byte("git/refs")  // repo ID | 0 | refname → 40-hex object ID
	bucketPacks = []byte("git/packs") // repo ID | 0 | seq (uint64 big endian) → Pack
	bucketMeta  = []byte("git/meta")  // "count" → number of repositories, uint64 big endian
)

var metaCount = []byte("count")

// Record is a repository's record. ModifyIndex is that of the last metadata change (create,
// update); PushIndex that of the last push that moved a ref. Packs is how many pack records it
// has (the next one's sequence number), Refs how many refs.
type Record struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	DefaultBranch string            `json:"default_branch"`
	Tags          map[string]string `json:"tags,omitempty"`
	CreateIndex   uint64            `json:"create_index"`
	ModifyIndex   uint64            `json:"modify_index"`
	PushIndex     uint64            `json:"push_index,omitempty"`
	CreateTime    time.Time         `json:"create_time"`
	ModifyTime    time.Time         `json:"modify_time"`
	Packs         uint64            `json:"packs,omitempty"`
	Refs          int               `json:"refs,omitempty"`
}

// version is what changes whenever a copy of the repository has something to do.
func (r Record) version() uint64 { return max(r.ModifyIndex, r.PushIndex) }

// Pack is one pack blob of a repository, in push order: every copy indexes them in this order
// (a pack may name objects of earlier ones).
type Pack struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	CreateIndex uint64 `json:"create_index"`
}

func getRecord(tx *state.Tx, id string) (Record, bool, error) {
	return state.Get[Record](tx, bucketRepos, id)
}

// recordByName resolves a name through the index; ok is false when no repository has it.
func recordByName(tx *state.Tx, name string) (Record, bool, error) {
	id := tx.Bucket(bucketNames).Get([]byte(name))
	if id == nil {
		return Record{}, false, nil
	}
	return getRecord(tx, string(id))
}

func putRecord(tx *state.Tx, r Record) error { return state.Put(tx, bucketRepos, r.ID, r) }

// NameOf answers the name the repository with ID id has now in tx (a rename keeps the ID); ok
// is false when there is no such repository (it was deleted). For the services that keep a
// repository's ID in their records (pull requests) and must show its current name.
func NameOf(tx *state.Tx, id string) (name string, ok bool) {
	r, ok, err := getRecord(tx, id)
	if err != nil || !ok {
		return "", false
	}
	return r.Name, true
}

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

func subKey(id string, rest []byte) []byte {
	k := make([]byte, 0, len(id)+1+len(rest))
	k = append(append(k, id...), 0)
	return append(k, rest...)
}

func refKey(id, ref string) []byte { return subKey(id, []byte(ref)) }

func packKey(id string, seq uint64) []byte {
	return subKey(id, binary.BigEndian.AppendUint64(nil, seq))
}

// getRef returns a ref's object ID, "" when the ref does not exist.
func getRef(tx *state.Tx, id, ref string) string {
	return string(tx.Bucket(bucketRefs).Get(refKey(id, ref)))
}

// refs returns every ref of a repository: refname → object ID.
func refs(tx *state.Tx, id string) map[string]string {
	out := map[string]string{}
	prefix := subKey(id, nil)
	c := tx.Bucket(bucketRefs).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		out[string(k[len(prefix):])] = string(v)
	}
	return out
}

// packs returns a repository's pack records in order.
func packs(tx *state.Tx, id string) ([]Pack, error) {
	var out []Pack
	prefix := subKey(id, nil)
	c := tx.Bucket(bucketPacks).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var p Pack
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, fault.New(fault.Internal, "decode pack record of repository %s: %v", id, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// packOwner is how a pack record references its blob (state.Blobs.AddRef).
func packOwner(id string, seq uint64) string {
	return fmt.Sprintf("git-pack:%s:%d", id, seq)
}

// deleteAll removes every key of a bucket under a repository's prefix, calling each (when not
// nil) with the value first.
func deleteAll(tx *state.Tx, bucket []byte, id string, each func(k, v []byte) error) error {
	prefix := subKey(id, nil)
	b := tx.Bucket(bucket)
	var keys [][]byte
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if each != nil {
			if err := each(k, v); err != nil {
				return err
			}
		}
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// listRecords returns up to limit repositories in name order after the name "after", and the
// name to continue after ("" at the end).
func listRecords(tx *state.Tx, after string, limit int) (out []Record, next string, err error) {
	c := tx.Bucket(bucketNames).Cursor()
	k, v := c.Seek([]byte(after))
	if k != nil && after != "" && string(k) == after {
		k, v = c.Next()
	}
	for ; k != nil; k, v = c.Next() {
		if len(out) == limit {
			return out, out[len(out)-1].Name, nil
		}
		r, ok, err := getRecord(tx, string(v))
		if err != nil {
			return nil, "", err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, "", nil
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fault.New(fault.Internal, "decode git record: %v", err)
	}
	return nil
}
