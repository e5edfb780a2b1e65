package kv

import (
	"strings"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Bounds of the store. They are checked when a command is applied, so they are part of the log's
// meaning: changing one needs a new schema version of kv.put (and the old one applied as before).
const (
	MaxKeyLen   = 256      // bytes of a key
	MaxValueLen = 64 << 10 // bytes of a value
	MaxKeys     = 10_000   // keys in the cluster
)

// keyByte reports whether b may appear in a key: A-Z a-z 0-9 . _ / -.
func keyByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '/' || b == '-'
}

// ValidateKey checks a key: 1-256 bytes of A-Z a-z 0-9 . _ / -, a path of non-empty segments
// separated by single slashes (no leading or trailing slash), without "..". Keys are paths so
// that services can keep their settings under a prefix ("builds/cache/max-size").
func ValidateKey(key string) error {
	if key == "" {
		return fault.New(fault.Invalid, "key is empty: give a path such as builds/cache/max-size")
	}
	if len(key) > MaxKeyLen {
		return fault.New(fault.Invalid, "key %s is %d bytes; keys are 1-%d bytes", state.Shorten(key), len(key), MaxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if !keyByte(key[i]) {
			return fault.New(fault.Invalid, "key %s has a character outside A-Z a-z 0-9 . _ / -", state.Shorten(key))
		}
	}
	switch {
	case key[0] == '/':
		return fault.New(fault.Invalid, "key %s starts with /: keys are relative paths such as builds/cache/max-size", state.Shorten(key))
	case strings.HasSuffix(key, "/") || strings.Contains(key, "//"):
		return fault.New(fault.Invalid, "key %s has an empty path segment (a trailing or doubled /)", state.Shorten(key))
	case strings.Contains(key, ".."):
		return fault.New(fault.Invalid, "key %s contains ..", state.Shorten(key))
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "." {
			return fault.New(fault.Invalid, "key %s has a path segment \".\"", state.Shorten(key))
		}
	}
	return nil
}

// ValidatePrefix checks a list's prefix: empty (every key), or at most 256 bytes of the
// characters keys are made of. A prefix need not be a key: "builds/" lists a folder.
func ValidatePrefix(prefix string) error {
	if len(prefix) > MaxKeyLen {
		return fault.New(fault.Invalid, "prefix is %d bytes; keys are at most %d", len(prefix), MaxKeyLen)
	}
	for i := 0; i < len(prefix); i++ {
		if !keyByte(prefix[i]) {
			return fault.New(fault.Invalid, "prefix %s has a character outside A-Z a-z 0-9 . _ / -", state.Shorten(prefix))
		}
	}
	return nil
}

// validateValue checks a value's size.
func validateValue(key string, value []byte) error {
	if len(value) > MaxValueLen {
		return fault.New(fault.TooLarge, "the value of %s is %d bytes; values are at most %d bytes (64 KiB): keep large data in artifacts, and its address here",
			state.Shorten(key), len(value), MaxValueLen)
	}
	return nil
}
