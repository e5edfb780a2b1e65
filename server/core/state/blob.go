package state

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

var (
	bucketBlobs    = []byte("blobs")     // sha256 hex -> Blob
	bucketBlobRefs = []byte("blob_refs") // sha256 hex | 0 | kind:id -> nil
)

// Blob is a committed, content-addressed blob. Its bytes live in each server's blob store, never
// in the state; a Blob record means a quorum of servers held the bytes durably when it was made.
type Blob struct {
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
}

// Put records a blob; recording one that exists is a no-op that returns the existing one.
func (v Blobs) Put(b Blob) (Blob, error) {
	t := v.t
	var cur Blob
	ok, err := t.get(bucketBlobs, []byte(b.SHA256), &cur)
	if err != nil || ok {
		return cur, err
	}
	return b, t.put(bucketBlobs, []byte(b.SHA256), b)
}

// Get returns a blob record.
func (v Blobs) Get(sha string) (Blob, error) {
	t := v.t
	var b Blob
	ok, err := t.get(bucketBlobs, []byte(sha), &b)
	if err != nil {
		return b, err
	}
	if !ok {
		return b, fault.New(fault.NotFound, "blob %s not found", sha)
	}
	return b, nil
}

// Delete removes a blob record; it refuses while anything references the blob.
func (v Blobs) Delete(sha string) error {
	t := v.t
	if t.tx.Bucket(bucketBlobs).Get([]byte(sha)) == nil {
		return fault.New(fault.NotFound, "blob %s not found", sha)
	}
	if t.Blobs().Referenced(sha) {
		return fault.New(fault.Conflict, "blob %s is still referenced", sha)
	}
	return t.tx.Bucket(bucketBlobs).Delete([]byte(sha))
}

// List returns blob records in hash order, a page at a time.
func (v Blobs) List(after string, limit int) ([]Blob, string, error) {
	t := v.t
	return list[Blob](t, bucketBlobs, after, limit, nil)
}

// AddRef records that owner (e.g. "revision:ID") uses the blob.
func (v Blobs) AddRef(sha, owner string) error {
	t := v.t
	return t.tx.Bucket(bucketBlobRefs).Put(refKey(sha, owner), nil)
}

// RemoveRef forgets one use of the blob.
func (v Blobs) RemoveRef(sha, owner string) error {
	t := v.t
	return t.tx.Bucket(bucketBlobRefs).Delete(refKey(sha, owner))
}

// Referenced reports whether anything uses the blob.
func (v Blobs) Referenced(sha string) bool {
	t := v.t
	prefix := append([]byte(sha), 0)
	k, _ := t.tx.Bucket(bucketBlobRefs).Cursor().Seek(prefix)
	return k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}

func refKey(sha, owner string) []byte {
	k := make([]byte, 0, len(sha)+1+len(owner))
	k = append(k, sha...)
	k = append(k, 0)
	return append(k, owner...)
}

// Blobs is the blob records of a transaction (Tx.Blobs): which blobs a quorum holds, and who
// references each.
type Blobs struct{ t *Tx }

// Blobs returns the transaction's blob records.
func (t *Tx) Blobs() Blobs { return Blobs{t} }
