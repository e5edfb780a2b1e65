package audit

import (
	"fmt"
	"iter"
	"time"
)

// Chain is the state of one audit trail that appending and trimming need: its trim anchor (the
// last trimmed record, the zero Anchor if none) and its head (the last appended record, equal
// to the anchor when no record is kept). It does not hold records: the caller stores what
// Append returns (in the replicated state, by Seq) and deletes what it trims.
//
// Every method is deterministic: the same calls in the same order give the same records and
// hashes on every server, which is what a Raft apply needs. A Chain is not safe for concurrent
// use; the FSM applies one command at a time.
type Chain struct {
	anchor Anchor
	head   Anchor
	buf    []byte
}

// NewChain returns an empty trail: no record yet, zero anchor and head.
func NewChain() *Chain { return &Chain{} }

// Resume returns the chain whose trim anchor and head were saved (Anchor and Head), e.g. read
// back from the state after a restart or a snapshot restore. It refuses a head before the anchor
// and a head at the anchor with another hash, which no sequence of Append and Trim produces.
func Resume(anchor, head Anchor) (*Chain, error) {
	if head.Seq < anchor.Seq {
		return nil, fmt.Errorf("audit: head %d is before the trim anchor %d", head.Seq, anchor.Seq)
	}
	if head.Seq == anchor.Seq && head.Hash != anchor.Hash {
		return nil, fmt.Errorf("audit: head and trim anchor are both record %d but their hashes differ (%s, %s)", head.Seq, head.Hash, anchor.Hash)
	}
	return &Chain{anchor: anchor, head: head}, nil
}

// Head returns the last appended record's Seq and Hash (the trim anchor when none is kept).
func (c *Chain) Head() Anchor { return c.head }

// Anchor returns the last trimmed record's Seq and Hash: verification of the kept records
// starts there (Verify).
func (c *Chain) Anchor() Anchor { return c.anchor }

// Len returns how many records the chain keeps (appended and not trimmed).
func (c *Chain) Len() uint64 { return c.head.Seq - c.anchor.Seq }

// Append returns r as it must be stored: bounded (Bound), Seq one past the head, Prev the head's
// hash and Hash computed; the returned record becomes the head. r's own Seq, Prev and Hash are
// ignored. Nothing of the record comes from a clock or randomness: give it Time.
func (c *Chain) Append(r Record) Record {
	r = Bound(r)
	r.Seq = c.head.Seq + 1
	r.Prev = c.head.Hash
	r.Hash, c.buf = ComputeHash(c.buf, r)
	c.head = AnchorOf(r)
	return r
}

// Trim moves the trim anchor to last, a kept record: the caller deletes records up to and
// including last.Seq in the same apply, and verification then starts from last's Seq and Hash.
// It refuses a record that is not kept (at or before the anchor, or after the head) and the head
// record with a hash other than the head's. Trimming every record leaves an empty chain whose
// anchor and head are equal.
func (c *Chain) Trim(last Record) error {
	if last.Seq <= c.anchor.Seq || last.Seq > c.head.Seq {
		return fmt.Errorf("audit: cannot trim through record %d: the chain keeps records %d to %d", last.Seq, c.anchor.Seq+1, c.head.Seq)
	}
	if last.Seq == c.head.Seq && last.Hash != c.head.Hash {
		return fmt.Errorf("audit: cannot trim through record %d: its hash %s is not the head's %s", last.Seq, last.Hash, c.head.Hash)
	}
	c.anchor = AnchorOf(last)
	return nil
}

// TrimPoint returns the last record to trim for a retention cutoff: walking records from the
// oldest kept, the last of the leading records whose Time is before cutoff, taking at most limit
// of them (limit <= 0: no limit), so one apply does bounded work and later applies continue.
// It stops at the first record not before cutoff, so a record that is old only because of clock
// skew between leaders waits for the records before it. ok is false when nothing is to be
// trimmed; err is the first error records yields. The caller computes cutoff from the command's
// time, never from a clock.
func TrimPoint(records iter.Seq2[Record, error], cutoff time.Time, limit int) (last Record, ok bool, err error) {
	n := 0
	for r, err := range records {
		if err != nil {
			return Record{}, false, err
		}
		if !r.Time.Before(cutoff) || (limit > 0 && n >= limit) {
			break
		}
		last, ok = r, true
		n++
	}
	return last, ok, nil
}
