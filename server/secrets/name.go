package secrets

import (
	"strings"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Bounds of the store. They are checked when a command is applied, so they are part of the log's
// meaning: changing one needs a new schema version of secrets.put (and the old one applied as
// before).
const (
	MaxNameLen        = 512      // bytes of a name, as AWS Secrets Manager allows
	MaxValueLen       = 64 << 10 // bytes of a value (Secrets Manager's own limit)
	MaxDescriptionLen = 2048     // bytes of a description
	MaxSecrets        = 10_000   // secrets in the cluster
)

// maxSealedLen bounds a sealed value at apply, where the plaintext is not visible: the value,
// the sealed record's header (version, key id length, a key id of at most 255 bytes), the nonce
// and the tag.
const maxSealedLen = MaxValueLen + 2 + 255 + 12 + 16

// nameByte reports whether b may appear in a name: A-Z a-z 0-9 / _ + = . @ -, the characters AWS
// Secrets Manager allows.
func nameByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("/_+=.@-", b) >= 0
}

// ValidateName checks a secret's name: 1-512 bytes of A-Z a-z 0-9 / _ + = . @ - as in AWS Secrets
// Manager, and, stricter than it, a relative path of non-empty segments none of which is "." or
// "..": names travel in URL paths (/v1/secrets/prod/db/password), which routers clean, so a name
// such as "a//b" or "a/../b" would name another secret on the way.
func ValidateName(name string) error {
	if name == "" {
		return fault.New(fault.Invalid, "the secret name is empty: give one such as prod/db/password")
	}
	if len(name) > MaxNameLen {
		return fault.New(fault.Invalid, "secret name %s is %d bytes; names are 1-%d bytes", state.Shorten(name), len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return fault.New(fault.Invalid, "secret name %s has a character outside A-Z a-z 0-9 / _ + = . @ -", state.Shorten(name))
		}
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return fault.New(fault.Invalid, "secret name %s has an empty path segment (a leading, trailing or doubled /): use one such as prod/db/password", state.Shorten(name))
		case ".", "..":
			return fault.New(fault.Invalid, "secret name %s has a path segment %q", state.Shorten(name), seg)
		}
	}
	return nil
}

// ValidatePrefix checks a list's prefix: empty (every secret), or at most 512 bytes of the
// characters names are made of. A prefix need not be a name: "prod/" lists a folder.
func ValidatePrefix(prefix string) error {
	if len(prefix) > MaxNameLen {
		return fault.New(fault.Invalid, "prefix is %d bytes; secret names are at most %d", len(prefix), MaxNameLen)
	}
	for i := 0; i < len(prefix); i++ {
		if !nameByte(prefix[i]) {
			return fault.New(fault.Invalid, "prefix %s has a character outside A-Z a-z 0-9 / _ + = . @ -", state.Shorten(prefix))
		}
	}
	return nil
}

// validateValue checks a value's size (on the proposer, where the plaintext is).
func validateValue(name string, value []byte) error {
	if len(value) > MaxValueLen {
		return fault.New(fault.TooLarge, "the value of secret %s is %d bytes; values are at most %d bytes (64 KiB)", state.Shorten(name), len(value), MaxValueLen)
	}
	return nil
}

// validateDescription checks a description: UTF-8 of at most 2,048 bytes.
func validateDescription(d string) error {
	if len(d) > MaxDescriptionLen {
		return fault.New(fault.Invalid, "the description is %d bytes; descriptions are at most %d", len(d), MaxDescriptionLen)
	}
	if !utf8.ValidString(d) {
		return fault.New(fault.Invalid, "the description is not valid UTF-8")
	}
	return nil
}
