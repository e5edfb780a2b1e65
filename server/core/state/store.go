// Package state is the control plane's replicated state: a bbolt database that only the FSM
// writes, one file per resource kind for its records and queries.
//
// The database is derived data. Raft's log and snapshots are the durable truth, and the FSM
// rebuilds this file from them on every start, so it is written without fsync.
//
// Readers use View; the FSM uses Update inside Apply. Restore swaps the whole file atomically
// with respect to both.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketMeta     = []byte("meta")
	keyClusterID   = []byte("cluster_id")
	keyAppliedIdx  = []byte("applied_index")
	keyStateIdx    = []byte("state_index")
	keyACLBoot     = []byte("acl_bootstrap_index")
	allBuckets     = [][]byte{bucketMeta, bucketTokens, bucketTokenHash, bucketNodes, bucketRequests, bucketRequestsByTime, bucketBlobs, bucketBlobRefs, bucketHosts, bucketHostNames, bucketHostSecrets, bucketHostTokens, bucketHostTokHash, bucketHostTombs, bucketHostTombOrder, bucketKeyring, bucketHostSecretTombs, bucketAudit}
	errNoMetaInNew = errors.New("not a slipway state file (no meta bucket)")
)

// Store is the state database.
type Store struct {
	path    string
	buckets [][]byte     // every bucket: the core's and those the services declared
	indexes []Index      // the derived ones among them, with their builders
	mu      sync.RWMutex // held for reading by View/Update, for writing by Restore
	db      *bolt.DB
}

// Open creates a fresh, empty state database at path, replacing any file there: the state is
// always rebuilt from Raft's snapshot and log. buckets are the buckets the services declared, next
// to the core's own.
func Open(path string, buckets ...[]byte) (*Store, error) { return open(path, buckets, nil) }

func open(path string, buckets [][]byte, indexes []Index) (*Store, error) {
	all := append(append([][]byte{}, allBuckets...), buckets...)
	seen := map[string]bool{}
	for _, b := range all {
		if seen[string(b)] {
			return nil, fmt.Errorf("state: bucket %q is declared twice", b)
		}
		seen[string(b)] = true
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("state: remove stale %s: %w", path, err)
	}
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error { return createBuckets(tx, all, indexes) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state: init: %w", err)
	}
	return &Store{path: path, db: db, buckets: all, indexes: indexes}, nil
}

func openDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoSync: true, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	return db, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Close()
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
}

// Update runs fn in a read-write transaction. Only the FSM calls it.
func (s *Store) Update(fn func(*Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.Update(func(btx *bolt.Tx) error {
		tx := &Tx{tx: btx, writable: true}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.flushLocals()
	})
}

// WriteTo streams a consistent copy of the whole database to w.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Restore replaces the database with the one read from r. The new content is checked before the
// swap; on error the current state is untouched.
func (s *Store) Restore(r io.Reader) error {
	tmp := s.path + ".restore"
	if err := writeFile(tmp, r); err != nil {
		return err
	}
	check, err := openDB(tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	err = check.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errNoMetaInNew
		}
		return createBuckets(tx, s.buckets, s.indexes) // a snapshot from an older release may lack newer buckets (and indexes)
	})
	if cerr := check.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("state: restore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("state: restore: close current: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("state: restore: %w", err)
	}
	db, err := openDB(s.path)
	if err != nil {
		return err
	}
	s.db = db
	return nil
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("state: write %s: %w", path, err)
	}
	return f.Close()
}

// Tx is a transaction on the state. Its methods are grouped by resource, one file each.
type Tx struct {
	tx       *bolt.Tx
	writable bool
	locals   []local // services' caches (Local)
}

func (t *Tx) put(bucket, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.Bucket(bucket).Put(key, b)
}

func (t *Tx) get(bucket, key []byte, v any) (bool, error) {
	raw := t.Bucket(bucket).Get(key)
	if raw == nil {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// list decodes up to limit records of bucket in key order, starting after the key "after", and
// returns the key to continue after ("" when no more remain). keep, when set, filters records.
func list[T any](t *Tx, bucket []byte, after string, limit int, keep func(*T) bool) ([]T, string, error) {
	c := t.Bucket(bucket).Cursor()
	var k, v []byte
	if after == "" {
		k, v = c.First()
	} else {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	}
	out := []T{}
	last := ""
	for ; k != nil; k, v = c.Next() {
		if limit > 0 && len(out) == limit {
			return out, last, nil
		}
		var rec T
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, "", fmt.Errorf("decode %s/%s: %w", bucket, k, err)
		}
		if keep == nil || keep(&rec) {
			out = append(out, rec)
			last = string(k)
		}
	}
	return out, "", nil
}

// Snapshot is a consistent, read-only view of the whole database held open until Release.
type Snapshot struct {
	s  *Store
	tx *bolt.Tx
}

// BeginSnapshot pins the current state. Writes go on; Restore waits until Release.
func (s *Store) BeginSnapshot() (*Snapshot, error) {
	s.mu.RLock()
	tx, err := s.db.Begin(false)
	if err != nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("state: snapshot: %w", err)
	}
	return &Snapshot{s: s, tx: tx}, nil
}

// WriteTo streams the pinned state.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) { return sn.tx.WriteTo(w) }

// Release ends the snapshot; it is safe to call more than once.
func (sn *Snapshot) Release() {
	if sn.tx != nil {
		_ = sn.tx.Rollback()
		sn.tx = nil
		sn.s.mu.RUnlock()
	}
}

// AdoptSnapshotFile prepares a state file taken from a snapshot for restore into the cluster
// clusterID: it checks that the file is a state database and gives it that cluster's identity,
// so a backup from one cluster can seed another without confusing either.
func AdoptSnapshotFile(path, clusterID string) error {
	db, err := openDB(path)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errNoMetaInNew
		}
		if clusterID == "" {
			return nil
		}
		return tx.Bucket(bucketMeta).Put(keyClusterID, []byte(clusterID))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}
