package audit

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Record is one entry of the audit trail: who did what to which resource, from where, and how it
// ended. It never holds a secret, a credential, a request body or a policy's contents: only the
// names below, each bounded (Bound), so a hostile request cannot grow a record beyond
// MaxRecordSize.
//
// Seq, Prev and Hash are the chain's: Chain.Append fills them, callers leave them zero. The JSON
// form is the persisted and exported form; it round-trips exactly for any record Append returned
// (its strings are valid UTF-8 and its time is within years 1-9999).
type Record struct {
	// Seq is the record's position in the trail: 1 for the first record ever appended, then
	// dense (no gaps) for as long as the trail exists; trimming does not renumber.
	Seq uint64 `json:"seq"`
	// Time is when the request was decided, from the command (the proposer's clock), in UTC.
	Time time.Time `json:"time"`
	// Principal is who made the request (KindAnonymous when it did not authenticate).
	Principal Principal `json:"principal"`
	// Action is the IAM-style action, e.g. "codedeploy:CreateDeployment".
	Action string `json:"action"`
	// Resource is the Slipway resource name acted on, e.g. "srn:slipway:codedeploy:app/shop".
	Resource string `json:"resource,omitempty"`
	// Source is the client's address as the server saw it (host:port or host).
	Source string `json:"source,omitempty"`
	// RequestID is the request's id (the idempotency key the API namespaced, or the one the
	// server generated), which ties the record to logs and to a client's retry.
	RequestID string `json:"request_id,omitempty"`
	// Outcome is how the request ended.
	Outcome Outcome `json:"outcome"`
	// ErrorCode is the stable error code (fault code) of a denied or failed request, empty when
	// allowed.
	ErrorCode string `json:"error_code,omitempty"`
	// Detail is what the action did, in words a service chooses, for a reader of the trail:
	// e.g. a git push's refs moved (from and to which commits) and each one's outcome, a
	// fetch's service. Empty for most records; bounded by MaxDetailLen.
	Detail string `json:"detail,omitempty"`
	// Prev is the Hash of the record before (all zero for Seq 1).
	Prev Digest `json:"prev"`
	// Hash is SHA-256(FormatVersion || Prev || Canonical(record)).
	Hash Digest `json:"hash"`
}

// Detailer is a command result that says what the command did for its audit record's Detail
// (the FSM asks the value a handler returns). AuditDetail must depend only on the value, as
// every server computes it in apply.
type Detailer interface{ AuditDetail() string }

// Principal names who acted. ID is stable (a user's or role's id, a token's accessor, a host's
// id); Name is how it was called when the request was made (a user name, a token's name), for
// people reading the trail. Two records are by the same principal when Kind and ID are equal
// (Name when ID is empty).
type Principal struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Kind is the kind of principal.
type Kind string

// Kinds of principal. A request that presented no valid credential is recorded as KindAnonymous
// (a failed login names the account it tried in the record's Resource, not as its principal).
const (
	KindUser      Kind = "user"
	KindToken     Kind = "token"
	KindRole      Kind = "role"
	KindHost      Kind = "host"
	KindAnonymous Kind = "anonymous"
)

// Outcome is how a recorded request ended.
type Outcome string

// Outcomes: allowed and done, refused by authentication or a policy, or allowed but failed (an
// invalid request, a conflict, an internal error).
const (
	OutcomeAllowed Outcome = "allowed"
	OutcomeDenied  Outcome = "denied"
	OutcomeFailed  Outcome = "failed"
)

// Digest is a SHA-256 hash. Its JSON and text form is 64 lowercase hex digits.
type Digest [32]byte

// String returns the digest in lowercase hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText returns the digest in lowercase hex.
func (d Digest) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(d)))
	hex.Encode(out, d[:])
	return out, nil
}

// UnmarshalText reads 64 hex digits (either case).
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) != hex.EncodedLen(len(d)) {
		return fmt.Errorf("audit: digest is %d characters, want %d hex digits", len(b), hex.EncodedLen(len(d)))
	}
	var out Digest
	if _, err := hex.Decode(out[:], b); err != nil {
		return fmt.Errorf("audit: digest is not hex: %w", err)
	}
	*d = out
	return nil
}

// Anchor is a point of the chain: the sequence number and hash of one record. The zero Anchor
// is the start of a trail (no record yet; record 1's Prev is the zero Digest). A chain's trim
// anchor is its last trimmed record, and its head is its last appended record.
type Anchor struct {
	Seq  uint64 `json:"seq"`
	Hash Digest `json:"hash"`
}

// AnchorOf returns the anchor of a record (its Seq and Hash).
func AnchorOf(r Record) Anchor { return Anchor{Seq: r.Seq, Hash: r.Hash} }
