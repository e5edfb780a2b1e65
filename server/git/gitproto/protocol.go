package gitproto

import (
	"fmt"
	"strings"
)

// Bounds on the Git-Protocol header.
const (
	MaxProtocolLen   = 256
	MaxProtocolItems = 16
)

// ParseGitProtocol checks the value of an HTTP Git-Protocol header (or an SSH client's
// GIT_PROTOCOL variable), such as "version=2" or "version=2:object-format=sha1", and returns
// the value to hand git as GIT_PROTOCOL. An empty header is valid and returns "" (git speaks
// protocol v0). Anything else must be at most MaxProtocolLen bytes of at most
// MaxProtocolItems items separated by ':', each a key of [a-z0-9-] starting with a letter,
// optionally followed by '=' and a value of [A-Za-z0-9._-]. The header reaches git's
// environment, so nothing outside that alphabet is passed on.
func ParseGitProtocol(h string) (string, error) {
	if h == "" {
		return "", nil
	}
	if len(h) > MaxProtocolLen {
		return "", fmt.Errorf("the Git-Protocol header of %d bytes is over the limit of %d", len(h), MaxProtocolLen)
	}
	items := strings.Split(h, ":")
	if len(items) > MaxProtocolItems {
		return "", fmt.Errorf("the Git-Protocol header has %d items, over the limit of %d", len(items), MaxProtocolItems)
	}
	for _, item := range items {
		key, value, hasValue := strings.Cut(item, "=")
		if !validProtocolKey(key) {
			return "", fmt.Errorf("the Git-Protocol header item %q: the key must be a letter followed by letters a-z, digits or '-'", item)
		}
		if hasValue && !validProtocolValue(value) {
			return "", fmt.Errorf("the Git-Protocol header item %q: the value must be letters, digits, '.', '_' or '-'", item)
		}
	}
	return h, nil
}

func validProtocolKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func validProtocolValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isNameByte(v[i]) {
			return false
		}
	}
	return true
}
