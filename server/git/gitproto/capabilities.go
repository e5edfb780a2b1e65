package gitproto

import "strings"

// MaxCapabilities bounds the capabilities a client may send on its first command line.
const MaxCapabilities = 64

// Capabilities is a space-separated capability list as sent after the NUL of a first line:
// names such as "report-status", "atomic", "push-options", "side-band-64k", and key=value
// items such as "agent=git/2.39.5" or "object-format=sha1".
type Capabilities []string

// Has reports whether the list holds name, alone or as the key of a key=value item.
func (c Capabilities) Has(name string) bool {
	_, ok := c.Value(name)
	return ok
}

// Value returns the value of key=value, or "" and true for a bare name.
func (c Capabilities) Value(key string) (string, bool) {
	for _, item := range c {
		k, v, _ := strings.Cut(item, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

// String is the list as git writes it.
func (c Capabilities) String() string { return strings.Join(c, " ") }

// parseCapabilities splits a capability list, refusing more than MaxCapabilities items and
// any byte that is not printable ASCII.
func parseCapabilities(s string) (Capabilities, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return nil, malformed("capability list has a byte 0x%02x that is not printable ASCII", s[i])
		}
	}
	caps := Capabilities(strings.Fields(s))
	if len(caps) > MaxCapabilities {
		return nil, malformed("capability list has %d items, over the limit of %d", len(caps), MaxCapabilities)
	}
	return caps, nil
}

// hexLenOf returns the object ID length the capabilities announce: 64 for
// object-format=sha256, otherwise 40 (SHA-1, git's default).
func hexLenOf(caps Capabilities) (int, error) {
	f, ok := caps.Value("object-format")
	switch {
	case !ok || f == "sha1":
		return 40, nil
	case f == "sha256":
		return 64, nil
	}
	return 0, malformed("object-format %q is not sha1 or sha256", f)
}
