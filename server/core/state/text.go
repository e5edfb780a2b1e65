package state

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// Bounds on free text that clients send. Names (ValidateName) are stricter: a fixed character
// set of at most 100 characters.
const (
	// MaxDescriptionLen bounds free-text descriptions, in bytes.
	MaxDescriptionLen = 1024
	// MaxLabelLen bounds short labels such as token names and tag values, in bytes.
	MaxLabelLen = 256
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// MaxNameLen bounds resource names.
const MaxNameLen = 100

// ValidateName checks a resource name: 1-100 characters of [A-Za-z0-9._-], not "." or "..".
// The character set keeps names safe in paths, URLs, logs and terminals: no separators, no
// spaces, no control characters. A refused name is echoed shortened (Shorten).
func ValidateName(kind, name string) error {
	if len(name) > MaxNameLen {
		return fault.New(fault.Invalid, "%s name %s is too long: use 1-100 characters of A-Z a-z 0-9 . _ -", kind, Shorten(name))
	}
	if !nameRE.MatchString(name) {
		if name == "" {
			return fault.New(fault.Invalid, "%s name is empty: give 1-100 characters of A-Z a-z 0-9 . _ -", kind)
		}
		return fault.New(fault.Invalid, "%s name %s is invalid: use 1-100 characters of A-Z a-z 0-9 . _ -", kind, Shorten(name))
	}
	if name == "." || name == ".." {
		return fault.New(fault.Invalid, "%s name %q is reserved: choose another", kind, name)
	}
	return nil
}

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

// CleanText makes text the server keeps even when it is out of bounds (what an agent reports)
// safe to store and display, and reports whether it changed anything: invalid UTF-8, control
// characters and bidirectional overrides become U+FFFD, except tab, newline, vertical tab, form
// feed and carriage return, which become a space; text longer than max bytes is cut at a
// character boundary and ends with "…" (the result is at most max bytes, max >= 3). It is a
// pure function of its input, so the FSM may use it.
func CleanText(s string, max int) (string, bool) {
	if len(s) <= max && cleanAlready(s) {
		return s, false
	}
	const ellipsis = "…"
	var b strings.Builder
	b.Grow(min(len(s), max))
	cut := 0 // the longest prefix written that leaves room for the ellipsis
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r':
			r = ' '
		case unicode.IsControl(r) || bidiControl(r):
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > max {
			return b.String()[:cut] + ellipsis, true
		}
		b.WriteRune(r)
		if b.Len() <= max-len(ellipsis) {
			cut = b.Len()
		}
		i += n
	}
	return b.String(), true
}

// cleanAlready reports whether s is valid UTF-8 with no character CleanText replaces.
func cleanAlready(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || bidiControl(r) {
			return false
		}
	}
	return true
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

// ValidSHA reports whether h is a lowercase hex SHA-256, as blobs are named.
func ValidSHA(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
