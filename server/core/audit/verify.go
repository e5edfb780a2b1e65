package audit

import (
	"errors"
	"fmt"
	"iter"
)

// Problem is what Verify found wrong with a record.
type Problem string

// Problems, in the order Verify checks a record: its hash first (so a record whose own fields
// were edited, Seq and Prev included, is named as edited), then its sequence number, then its
// link to the record before.
const (
	// ProblemEdited: the record's Hash is not the hash of its fields; it was edited.
	ProblemEdited Problem = "edited"
	// ProblemDropped: the record carries a later sequence number than the one expected; the
	// records between are missing here (dropped, or moved later: a reordering).
	ProblemDropped Problem = "dropped"
	// ProblemRepeated: the record carries a sequence number already passed; it is a duplicate or
	// the records were reordered.
	ProblemRepeated Problem = "repeated"
	// ProblemSpliced: the record's Prev is not the hash of the record before it (or of the
	// anchor); records were reordered, or taken from another trail, or the anchor is wrong.
	ProblemSpliced Problem = "spliced"
	// ProblemTruncated: the records end before the head the chain should reach.
	ProblemTruncated Problem = "truncated"
	// ProblemPastHead: the records go on past the head the chain should reach, or reach its
	// sequence number with another hash.
	ProblemPastHead Problem = "past_head"
)

// ErrBroken matches (errors.Is) every *Error: the trail failed verification.
var ErrBroken = errors.New("audit trail failed verification")

// Error names the first record that failed verification. Seq is the sequence number the record at
// that place should have (for ProblemTruncated, the first missing one); Found is the sequence
// number the record there carries (0 when there is none).
type Error struct {
	Seq     uint64
	Found   uint64
	Problem Problem
}

// Error says which record is wrong, how, and what that means.
func (e *Error) Error() string {
	switch e.Problem {
	case ProblemEdited:
		if e.Found != e.Seq {
			return fmt.Sprintf("audit record %d (carrying sequence number %d) was edited: its hash does not match its contents", e.Seq, e.Found)
		}
		return fmt.Sprintf("audit record %d was edited: its hash does not match its contents", e.Seq)
	case ProblemDropped:
		if e.Found == e.Seq+1 {
			return fmt.Sprintf("audit record %d is missing (the next record is %d): it was dropped, or records were reordered", e.Seq, e.Found)
		}
		return fmt.Sprintf("audit records %d to %d are missing (the next record is %d): they were dropped, or records were reordered", e.Seq, e.Found-1, e.Found)
	case ProblemRepeated:
		return fmt.Sprintf("audit record %d is followed by record %d again: records were duplicated or reordered", e.Seq-1, e.Found)
	case ProblemSpliced:
		return fmt.Sprintf("audit record %d does not follow the record before it (its prev hash differs): records were reordered or spliced in", e.Seq)
	case ProblemTruncated:
		return fmt.Sprintf("audit records from %d are missing: the trail ends at record %d before its head", e.Seq, e.Seq-1)
	case ProblemPastHead:
		return fmt.Sprintf("audit record %d does not match the trail's head: records were added or replaced at the end", e.Seq)
	}
	return fmt.Sprintf("audit record %d: %s", e.Seq, e.Problem)
}

// Is matches ErrBroken.
func (e *Error) Is(target error) bool { return target == ErrBroken }

// Verifier checks records one at a time, in sequence order, from an anchor, in constant memory:
// it keeps only the last good record's Seq and Hash and a scratch buffer. After the first error
// every call returns that error.
type Verifier struct {
	head Anchor
	buf  []byte
	err  error
}

// NewVerifier returns a verifier that expects the record after from (the zero Anchor: record 1).
func NewVerifier(from Anchor) *Verifier { return &Verifier{head: from} }

// Next checks r, the next record: its hash, its sequence number and its link to the record
// before. It returns an *Error naming r's place for the first record found wrong.
func (v *Verifier) Next(r Record) error {
	if v.err != nil {
		return v.err
	}
	want := v.head.Seq + 1
	var sum Digest
	sum, v.buf = ComputeHash(v.buf, r)
	switch {
	case sum != r.Hash:
		v.err = &Error{Seq: want, Found: r.Seq, Problem: ProblemEdited}
	case r.Seq > want:
		v.err = &Error{Seq: want, Found: r.Seq, Problem: ProblemDropped}
	case r.Seq < want:
		v.err = &Error{Seq: want, Found: r.Seq, Problem: ProblemRepeated}
	case r.Prev != v.head.Hash:
		v.err = &Error{Seq: want, Found: r.Seq, Problem: ProblemSpliced}
	default:
		v.head = AnchorOf(r)
	}
	return v.err
}

// Head returns the last record verified (the starting anchor before any).
func (v *Verifier) Head() Anchor { return v.head }

// End checks that the records verified so far end exactly at head, the chain's head kept apart
// from the records (Chain.Head): a trail cut short at the end, or one with records added or
// replaced past the head, chains correctly but does not end there.
func (v *Verifier) End(head Anchor) error {
	if v.err != nil {
		return v.err
	}
	switch {
	case v.head.Seq < head.Seq:
		v.err = &Error{Seq: v.head.Seq + 1, Problem: ProblemTruncated}
	case v.head.Seq > head.Seq:
		v.err = &Error{Seq: head.Seq + 1, Found: head.Seq + 1, Problem: ProblemPastHead}
	case v.head.Hash != head.Hash:
		v.err = &Error{Seq: head.Seq, Found: head.Seq, Problem: ProblemPastHead}
	}
	return v.err
}

// Verify checks records, in sequence order, as the continuation of from (the chain's trim
// anchor; the zero Anchor for an untrimmed trail), in constant memory. It returns the last record
// verified, for the caller to compare with the head it knows (or use VerifyTo), and the first
// failure: an *Error (errors.Is ErrBroken) naming the record, or the first error records yields,
// returned as it is.
func Verify(from Anchor, records iter.Seq2[Record, error]) (Anchor, error) {
	v := NewVerifier(from)
	for r, err := range records {
		if err != nil {
			return v.Head(), err
		}
		if err := v.Next(r); err != nil {
			return v.Head(), err
		}
	}
	return v.Head(), nil
}

// VerifyTo is Verify that also requires the records to end exactly at head (Verifier.End).
func VerifyTo(from, head Anchor, records iter.Seq2[Record, error]) error {
	v := NewVerifier(from)
	for r, err := range records {
		if err != nil {
			return err
		}
		if err := v.Next(r); err != nil {
			return err
		}
	}
	return v.End(head)
}
