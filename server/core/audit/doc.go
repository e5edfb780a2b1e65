// Package audit is the format of Slipway's audit trail and its hash chain: what one record holds,
// how a record is encoded for hashing, how a chain is extended, trimmed and verified, and which
// principals were active in a month.
//
// It is pure: no clock, no randomness, no I/O, no map iteration that reaches an output. A record's
// time and fields come from the caller (the FSM, from the command), so appending inside a Raft
// apply gives every server the same bytes and the same hashes.
//
// The chain: record n carries Prev, the Hash of record n-1 (all zero for record 1), and
//
//	Hash = SHA-256(FormatVersion || Prev || Canonical(record))
//
// where Canonical is a fixed tag-length-value encoding of the record's fields (AppendCanonical).
// Editing any field of a record breaks its Hash; dropping, repeating or reordering records breaks
// the sequence numbers or the Prev links; Verify names the first record where that happens.
// After trimming, the Anchor (sequence number and hash of the last trimmed record) is where
// verification of what remains starts.
package audit
