package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Index declares a derived bucket: one whose content is a pure function of the rest of the
// state, such as a service's secondary index. Apply keeps it in step from the moment it exists;
// Build fills it in once, when the bucket is created (by OpenIndexed on a fresh file, and by
// Restore of a snapshot written before the bucket existed), so a new release can add an index
// over records an older one stored. Build reads the state and writes only its own bucket, with
// no clock, randomness or I/O, so every server builds the same index from the same snapshot.
type Index struct {
	Bucket []byte
	Build  func(tx *Tx) error
}

// OpenIndexed is Open with derived buckets: each index's Bucket must be one of buckets, and its
// Build runs whenever that bucket is created (see Index).
func OpenIndexed(path string, buckets [][]byte, indexes []Index) (*Store, error) {
	for _, ix := range indexes {
		declared := false
		for _, b := range buckets {
			declared = declared || string(b) == string(ix.Bucket)
		}
		if !declared || ix.Build == nil {
			return nil, fmt.Errorf("state: index %q needs a declared bucket and a builder", ix.Bucket)
		}
	}
	return open(path, buckets, indexes)
}

// createBuckets creates every bucket of all that tx lacks, then runs the builder of each index
// whose bucket it created, in declaration order, once every bucket exists.
func createBuckets(tx *bolt.Tx, all [][]byte, indexes []Index) error {
	created := map[string]bool{}
	for _, b := range all {
		if tx.Bucket(b) != nil {
			continue
		}
		if _, err := tx.CreateBucket(b); err != nil {
			return err
		}
		created[string(b)] = true
	}
	for _, ix := range indexes {
		if !created[string(ix.Bucket)] {
			continue
		}
		t := &Tx{tx: tx, writable: true}
		if err := ix.Build(t); err != nil {
			return fmt.Errorf("build index %q: %w", ix.Bucket, err)
		}
		if err := t.flushLocals(); err != nil {
			return fmt.Errorf("build index %q: %w", ix.Bucket, err)
		}
	}
	return nil
}
