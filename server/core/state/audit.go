package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/slipwayhq/slipway/server/core/audit"
)

var (
	bucketAudit   = []byte("audit")       // Seq (8 bytes, big endian) -> audit.Record (JSON)
	keyAuditChain = []byte("audit_chain") // in meta: anchor Seq(8) Hash(32), head Seq(8) Hash(32)
)

// The audit trail (server/core/audit) as the replicated state keeps it: records by sequence
// number in the "audit" bucket, in their JSON form, and the chain's trim anchor and head in the
// meta bucket. Only apply appends and trims (AppendAudit, TrimAudit), so every server stores the
// same trail; readers page through it (AuditRecords, AuditRecordsBefore).

// auditCache is the chain of one write transaction: read from meta once, written back once when
// the transaction commits, so a batch of audited commands decodes and encodes it once.
type auditCache struct {
	chain *audit.Chain
	err   error // the stored anchor and head could not be resumed; nothing is written back
}

type auditCacheKey struct{}

// Flush implements Flusher.
func (a *auditCache) Flush(tx *Tx) error {
	if a.chain == nil {
		return nil
	}
	return tx.tx.Bucket(bucketMeta).Put(keyAuditChain, encodeAuditChain(a.chain.Anchor(), a.chain.Head()))
}

func encodeAuditChain(anchor, head audit.Anchor) []byte {
	b := make([]byte, 0, 80)
	for _, a := range []audit.Anchor{anchor, head} {
		b = binary.BigEndian.AppendUint64(b, a.Seq)
		b = append(b, a.Hash[:]...)
	}
	return b
}

// storedAuditChain reads the anchor and head saved in meta (zero for a trail with no record yet).
func (t *Tx) storedAuditChain() (anchor, head audit.Anchor, err error) {
	b := t.tx.Bucket(bucketMeta).Get(keyAuditChain)
	if b == nil {
		return anchor, head, nil
	}
	if len(b) != 80 {
		return anchor, head, fmt.Errorf("state: the audit chain's anchor and head are %d bytes, want 80", len(b))
	}
	anchor.Seq = binary.BigEndian.Uint64(b[:8])
	copy(anchor.Hash[:], b[8:40])
	head.Seq = binary.BigEndian.Uint64(b[40:48])
	copy(head.Hash[:], b[48:80])
	return anchor, head, nil
}

// auditChain returns the write transaction's chain (resumed from meta on first use).
func (t *Tx) auditChain() (*audit.Chain, error) {
	a := t.Local(auditCacheKey{}, func() Flusher {
		anchor, head, err := t.storedAuditChain()
		if err != nil {
			return &auditCache{err: err}
		}
		chain, err := audit.Resume(anchor, head)
		return &auditCache{chain: chain, err: err}
	}).(*auditCache)
	if a.err != nil {
		return nil, fmt.Errorf("state: resume the audit chain: %w", a.err)
	}
	return a.chain, nil
}

// AuditChain returns the trail's trim anchor (the last trimmed record; verification of the kept
// records starts there) and its head (the last appended record).
func (t *Tx) AuditChain() (anchor, head audit.Anchor, err error) {
	if t.writable {
		c, err := t.auditChain()
		if err != nil {
			return anchor, head, err
		}
		return c.Anchor(), c.Head(), nil
	}
	return t.storedAuditChain()
}

// AppendAudit appends r to the trail (audit.Chain.Append: bounded, numbered, chained) and stores
// it; it returns the record as stored. Only apply calls it, with a time from the command.
func (t *Tx) AppendAudit(r audit.Record) (audit.Record, error) {
	c, err := t.auditChain()
	if err != nil {
		return audit.Record{}, err
	}
	r = c.Append(r)
	b := audit.AppendJSON(make([]byte, 0, 512), r) // a value bbolt keeps until the commit: never reused
	bk := t.tx.Bucket(bucketAudit)
	bk.FillPercent = 1 // keys only ever grow: fill pages instead of splitting them in half
	return r, bk.Put(seqKey(r.Seq), b)
}

// TrimAudit trims the records whose time is before cutoff, oldest first, at most limit of them
// (audit.TrimPoint: it stops at the first record not before cutoff), moving the trim anchor to
// the last one trimmed so the kept records still verify. It returns how many it deleted; 0 and
// nothing changed when none is due.
func (t *Tx) TrimAudit(cutoff time.Time, limit int) (int, error) {
	c, err := t.auditChain()
	if err != nil {
		return 0, err
	}
	last, ok, err := audit.TrimPoint(t.AuditRecords(c.Anchor().Seq+1), cutoff, limit)
	if err != nil || !ok {
		return 0, err
	}
	from := c.Anchor().Seq + 1
	if err := c.Trim(last); err != nil {
		return 0, err
	}
	b := t.tx.Bucket(bucketAudit)
	for s := from; s <= last.Seq; s++ {
		if err := b.Delete(seqKey(s)); err != nil {
			return 0, err
		}
	}
	return int(last.Seq - from + 1), nil
}

// AuditRecords yields the stored records from sequence number from on, oldest first, until the
// caller stops or the trail ends. A record that does not decode is yielded as an error (with
// its Seq set, the rest zero) and the walk goes on, so a verifier names it.
func (t *Tx) AuditRecords(from uint64) iter.Seq2[audit.Record, error] {
	return func(yield func(audit.Record, error) bool) {
		c := t.tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(seqKey(from)); k != nil; k, v = c.Next() {
			if !yield(decodeAudit(k, v)) {
				return
			}
		}
	}
}

// AuditRecordsBefore yields the stored records with a sequence number below before (0: all),
// newest first.
func (t *Tx) AuditRecordsBefore(before uint64) iter.Seq2[audit.Record, error] {
	return func(yield func(audit.Record, error) bool) {
		c := t.tx.Bucket(bucketAudit).Cursor()
		var k, v []byte
		if before == 0 {
			k, v = c.Last()
		} else {
			c.Seek(seqKey(before))
			k, v = c.Prev()
		}
		for ; k != nil; k, v = c.Prev() {
			if !yield(decodeAudit(k, v)) {
				return
			}
		}
	}
}

// ErrAuditRecord is wrapped by the error AuditRecords yields for a stored record that does not
// decode.
var ErrAuditRecord = errors.New("stored audit record does not decode")

func decodeAudit(k, v []byte) (audit.Record, error) {
	var r audit.Record
	if len(k) != 8 {
		return r, fmt.Errorf("%w: key %x is not a sequence number", ErrAuditRecord, k)
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		seq := binary.BigEndian.Uint64(k)
		return audit.Record{Seq: seq}, fmt.Errorf("%w: record %d: %w", ErrAuditRecord, seq, err)
	}
	return r, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// ViewFile runs fn in a read-only transaction over the state file at path (a copy of a stopped
// server's DATA/state/state.db, or a snapshot saved with `slipway operator snapshot save`),
// for tools that inspect a state offline (`slipway audit verify --state`). It never writes the
// file, and refuses one a running server holds.
func ViewFile(path string, fn func(*Tx) error) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("state: %s is in use by a running server: copy it, or save a snapshot (slipway operator snapshot save), and read the copy", path)
		}
		return fmt.Errorf("state: open %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()
	return db.View(func(btx *bolt.Tx) error {
		if btx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("state: %s is %w", path, errNoMetaInNew)
		}
		if btx.Bucket(bucketAudit) == nil {
			return fmt.Errorf("state: %s has no audit trail (it was written by a release before the audit trail existed)", path)
		}
		return fn(&Tx{tx: btx})
	})
}
