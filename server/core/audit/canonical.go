package audit

import (
	"crypto/sha256"
	"encoding/binary"
)

// FormatVersion is the first byte hashed for every record. A change to the canonical encoding
// or to what is hashed takes a new version; records keep the version they were hashed with
// (today there is one, so every record is version 1).
const FormatVersion byte = 1

// Field tags of the canonical encoding, in the order they are written. They are part of the
// persisted format: never renumber or reuse one. A new optional field takes the next number and,
// like the string fields here, is left out when empty, so the records made before it keep their
// bytes and hashes.
const (
	tagSeq           = 1
	tagTime          = 2
	tagPrincipalKind = 3
	tagPrincipalID   = 4
	tagPrincipalName = 5
	tagAction        = 6
	tagResource      = 7
	tagSource        = 8
	tagRequestID     = 9
	tagOutcome       = 10
	tagErrorCode     = 11
	tagDetail        = 12
)

// AppendCanonical appends the canonical encoding of r (without Prev and Hash) to dst and
// returns the extended slice. The encoding is a sequence of fields in increasing tag order, each
//
//	tag (one byte) || length (unsigned varint) || value
//
// with Seq as 8 bytes big-endian, Time as its Unix seconds (8 bytes big-endian, two's
// complement) then its nanoseconds (4 bytes big-endian), and strings as their bytes, a string
// field being left out when empty. It depends on nothing but the field values: not on JSON, map
// order or the time's location. The encoding is the record as given; Chain.Append hashes the
// Bound form.
func AppendCanonical(dst []byte, r Record) []byte {
	dst = append(dst, tagSeq, 8)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	dst = append(dst, tagTime, 12)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Time.Unix()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(r.Time.Nanosecond()))
	dst = appendString(dst, tagPrincipalKind, string(r.Principal.Kind))
	dst = appendString(dst, tagPrincipalID, r.Principal.ID)
	dst = appendString(dst, tagPrincipalName, r.Principal.Name)
	dst = appendString(dst, tagAction, r.Action)
	dst = appendString(dst, tagResource, r.Resource)
	dst = appendString(dst, tagSource, r.Source)
	dst = appendString(dst, tagRequestID, r.RequestID)
	dst = appendString(dst, tagOutcome, string(r.Outcome))
	dst = appendString(dst, tagErrorCode, r.ErrorCode)
	dst = appendString(dst, tagDetail, r.Detail)
	return dst
}

func appendString(dst []byte, tag byte, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendHashInput appends what a record's Hash is computed over to dst: FormatVersion, then
// r.Prev, then AppendCanonical(r).
func AppendHashInput(dst []byte, r Record) []byte {
	dst = append(dst, FormatVersion)
	dst = append(dst, r.Prev[:]...)
	return AppendCanonical(dst, r)
}

// ComputeHash returns the hash r should carry given its fields and Prev (its own Hash is
// ignored). buf is scratch space, returned (possibly grown) for reuse; it may be nil.
func ComputeHash(buf []byte, r Record) (Digest, []byte) {
	buf = AppendHashInput(buf[:0], r)
	return sha256.Sum256(buf), buf
}
