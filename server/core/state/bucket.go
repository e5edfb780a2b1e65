package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The functions of this file are how a service keeps its own records in the state without the
// core knowing them: a service declares its buckets in its registration (Open and Restore create
// them), and reads and writes JSON records through Get, Put, Delete and List, or reaches its
// bucket with Tx.Bucket for indexes of its own. Buckets of new services are named
// "<service>/<name>"; the names given out before services existed stay as they are.

// Get decodes the record under key in bucket; ok is false when there is none.
func Get[T any](t *Tx, bucket []byte, key string) (v T, ok bool, err error) {
	ok, err = t.get(bucket, []byte(key), &v)
	return v, ok, err
}

// Put writes v as the record under key in bucket. Only a write transaction (the FSM's) may.
func Put[T any](t *Tx, bucket []byte, key string, v T) error { return t.put(bucket, []byte(key), v) }

// Delete removes the record under key in bucket (nothing when there is none).
func Delete(t *Tx, bucket []byte, key string) error { return t.Bucket(bucket).Delete([]byte(key)) }

// List decodes up to limit records of bucket in key order, starting after the key "after", and
// returns the key to continue after ("" when no more remain). keep, when set, filters records.
func List[T any](t *Tx, bucket []byte, after string, limit int, keep func(*T) bool) ([]T, string, error) {
	return list(t, bucket, after, limit, keep)
}

// Bucket returns a bucket the registration declared, for a service's own indexes and counters.
// It panics on an undeclared bucket: a programming error that tests catch.
func (t *Tx) Bucket(name []byte) *bolt.Bucket {
	b := t.tx.Bucket(name)
	if b == nil {
		panic(fmt.Sprintf("state: bucket %q was not declared by any service", name))
	}
	return b
}

// Writable reports whether this is the FSM's write transaction.
func (t *Tx) Writable() bool { return t.writable }

// Flusher is a service's per-transaction cache of records (see Tx.Local): Flush writes what the
// transaction changed in it, once, before the transaction commits.
type Flusher interface{ Flush(tx *Tx) error }

// Local returns the cache that key names in this write transaction, creating it with make on
// first use. It lets a batch of commands on one record decode and encode it once instead of once
// per command. Caches are flushed in the order they were created. Key should be an unexported
// type of the service (as context keys are), so services cannot collide.
func (t *Tx) Local(key any, make func() Flusher) Flusher {
	for _, l := range t.locals {
		if l.key == key {
			return l.f
		}
	}
	f := make()
	t.locals = append(t.locals, local{key, f})
	return f
}

type local struct {
	key any
	f   Flusher
}

// flushLocals writes every service cache of the transaction.
func (t *Tx) flushLocals() error {
	for _, l := range t.locals {
		if err := l.f.Flush(t); err != nil {
			return err
		}
	}
	t.locals = nil
	return nil
}
