package state

import (
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/fault"
)

// Bounds on free text that clients send. Names (ValidateName) are stricter: a fixed character
// set of at most 100 characters.
const (
	// MaxDescriptionLen bounds free-text descriptions, in bytes.
	MaxDescriptionLen = 1024
	// MaxLabelLen bounds short labels such as token names and tag values, in bytes.
	MaxLabelLen = 256
)

// ValidateText checks a free-text field a client sends: valid UTF-8, at most max bytes, no
// control characters (C0, DEL, C1: no newlines, tabs or terminal escapes such as "\x1b[31m")
// and no bidirectional overrides that make text display other than it reads. kind names the
// field in the error, which says how to fix it. Empty text passes: callers that need a value
// check that themselves.
func ValidateText(kind, s string, max int) error {
	if len(s) > max {
		return fault.New(fault.Invalid, "%s is %d bytes; the limit is %d: shorten it", kind, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fault.New(fault.Invalid, "%s is not valid UTF-8 text", kind)
	}
	for i, r := range s {
		if unicode.IsControl(r) || bidiControl(r) {
			return fault.New(fault.Invalid, "%s has the control character %U at byte %d: send printable text on one line", kind, r, i)
		}
	}
	return nil
}

// ValidateDescription checks a resource description: ValidateText with MaxDescriptionLen.
func ValidateDescription(kind, s string) error {
	return ValidateText(kind+" description", s, MaxDescriptionLen)
}

// ValidateLabel checks a required short label (a token name, a tag value when required is
// true): 1-MaxLabelLen bytes of printable text.
func ValidateLabel(kind, s string, required bool) error {
	if required && s == "" {
		return fault.New(fault.Invalid, "%s is empty: give 1-%d characters of printable text", kind, MaxLabelLen)
	}
	return ValidateText(kind, s, MaxLabelLen)
}

// bidiControl reports the Unicode bidirectional formatting characters (embeddings, overrides,
// isolates and marks) that can make a value display differently from what it is.
func bidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// Shorten quotes s for an error message, cut to at most 64 bytes with its full length noted, so
// that an oversized or hostile value is never echoed back or logged whole.
func Shorten(s string) string {
	const n = 64
	if len(s) <= n {
		return strconv.Quote(s)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}
