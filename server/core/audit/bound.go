package audit

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field bounds, in bytes of UTF-8, after Bound. A longer value is cut at a character boundary
// and ends with CutMarker, the whole within the bound.
const (
	MaxKindLen      = 16
	MaxIDLen        = 128
	MaxNameLen      = 128
	MaxActionLen    = 128
	MaxResourceLen  = 512
	MaxSourceLen    = 128
	MaxRequestIDLen = 128
	MaxOutcomeLen   = 16
	MaxErrorCodeLen = 64
	MaxDetailLen    = 2048
)

// CutMarker ends a value that Bound cut to its field's bound.
const CutMarker = "…"

// MaxRecordSize bounds the canonical encoding of any record Bound returned, in bytes: every
// field at its bound plus its tag and length prefix, the sequence number and the time. With
// Prev, Hash and the version byte a record never needs more than MaxRecordSize+65 bytes to hash.
const MaxRecordSize = 2 + 8 + 2 + 12 +
	3*10 + // ten string fields: tag and a length of at most two varint bytes each
	MaxKindLen + MaxIDLen + MaxNameLen + MaxActionLen + MaxResourceLen + MaxSourceLen +
	MaxRequestIDLen + MaxOutcomeLen + MaxErrorCodeLen + MaxDetailLen

// The times a record can hold: those that JSON (RFC 3339, four-digit years) round-trips.
var (
	minTime = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, time.December, 31, 23, 59, 59, 999999999, time.UTC)
)

// Bound returns r with every field in its stored form: strings made valid UTF-8 with control
// and bidirectional formatting characters replaced by U+FFFD (so the JSON form round-trips
// exactly and a record prints on one line as what it is), each cut to its bound with CutMarker,
// and Time in UTC, without a monotonic reading, clamped to years 1-9999. Seq, Prev and Hash are
// kept. Bound is idempotent; Chain.Append applies it before hashing.
func Bound(r Record) Record {
	r.Time = r.Time.UTC()
	if r.Time.Before(minTime) {
		r.Time = minTime
	} else if r.Time.After(maxTime) {
		r.Time = maxTime
	}
	r.Principal.Kind = Kind(boundString(string(r.Principal.Kind), MaxKindLen))
	r.Principal.ID = boundString(r.Principal.ID, MaxIDLen)
	r.Principal.Name = boundString(r.Principal.Name, MaxNameLen)
	r.Action = boundString(r.Action, MaxActionLen)
	r.Resource = boundString(r.Resource, MaxResourceLen)
	r.Source = boundString(r.Source, MaxSourceLen)
	r.RequestID = boundString(r.RequestID, MaxRequestIDLen)
	r.Outcome = Outcome(boundString(string(r.Outcome), MaxOutcomeLen))
	r.ErrorCode = boundString(r.ErrorCode, MaxErrorCodeLen)
	r.Detail = boundString(r.Detail, MaxDetailLen)
	return r
}

// boundString returns s cleaned (see Bound) and cut to at most limit bytes.
func boundString(s string, limit int) string {
	if !clean(s) {
		var b strings.Builder
		// Look at no more than is kept: a value many times its bound costs no more than one at it.
		for i, c := range s {
			if i > 4*limit {
				break
			}
			if c == utf8.RuneError || unsafeRune(c) {
				c = utf8.RuneError
			}
			b.WriteRune(c)
		}
		s = b.String()
	}
	if len(s) <= limit {
		return s
	}
	cut := limit - len(CutMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + CutMarker
}

// clean reports whether s needs no replacement: valid UTF-8 without unsafe runes.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		} else if c >= utf8.RuneSelf {
			return cleanSlow(s[i:])
		}
	}
	return true
}

func cleanSlow(s string) bool {
	for _, c := range s {
		if c == utf8.RuneError || unsafeRune(c) {
			return false
		}
	}
	return true
}

// unsafeRune reports control characters (C0, DEL, C1) and the Unicode bidirectional formatting
// characters that make a value display as something it is not.
func unsafeRune(c rune) bool {
	return unicode.IsControl(c) ||
		c >= 0x202A && c <= 0x202E || c >= 0x2066 && c <= 0x2069 || c == 0x200E || c == 0x200F || c == 0x061C
}
