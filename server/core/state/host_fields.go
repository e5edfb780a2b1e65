package state

import (
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// Bounds on what an agent registers and an operator tags. Every client-sent name and label is
// checked against them before it can reach the Raft log.
const (
	MaxHostIDLen       = 64  // the agent makes a 36-character UUID
	MaxHostNameLen     = 63  // one DNS label
	MaxHostnameLen     = 253 // a full DNS name
	MaxPlatformLen     = 32  // os and arch
	MaxAgentVersionLen = 64
	MaxTagValueLen     = 256
	MaxTags            = 64 // tags on one host or registration token
	MaxAllowTags       = 32 // --allow-tag patterns on one registration token
	MaxAllowTagLen     = 400
	MaxOperatorTagKeys = 128 // tag keys an operator may pin on one host
)

var (
	hostIDRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{0,253}$`)
)

// Clip keeps at most 40 bytes of a client-sent value (never splitting a character) for an
// error message that quotes it with %q, so an oversized or hostile value is never echoed back
// whole and control characters come out escaped. Shorten is the form for messages that do not
// quote the value themselves.
func Clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(strings.Clone(s[:40]), "") + "…"
	}
	return s
}

// printable reports whether s is valid UTF-8 with no control or other unprintable characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ValidateHostID checks a host ID: 1-64 characters of A-Z a-z 0-9 . _ - (the agent makes a UUID).
func ValidateHostID(id string) error {
	if !hostIDRE.MatchString(id) || id == "." || id == ".." {
		return fault.New(fault.Invalid, "host id %q is invalid: it must be 1-%d characters of A-Z a-z 0-9 . _ - (the agent makes one itself; delete a hand-edited identity.json in its data dir to get a fresh one)", Clip(id), MaxHostIDLen)
	}
	return nil
}

// ValidateHostName checks a host's name in Slipway: 1-63 characters of A-Z a-z 0-9 . _ -.
func ValidateHostName(name string) error {
	if len(name) > MaxHostNameLen {
		return fault.New(fault.Invalid, "host name %q is %d bytes; the limit is %d: start the agent with a shorter --name", Clip(name), len(name), MaxHostNameLen)
	}
	if err := ValidateName("host", name); err != nil {
		return fault.New(fault.Invalid, "host name %q is invalid: use 1-%d characters of A-Z a-z 0-9 . _ - (the agent's --name)", Clip(name), MaxHostNameLen)
	}
	return nil
}

// ValidateHostFacts checks what an agent reports about its machine: the hostname (at most 253
// characters of a DNS name), os and arch (at most 32 printable characters) and the agent's
// version (at most 64).
func ValidateHostFacts(hostname, goos, arch, agentVersion string) error {
	if len(hostname) > MaxHostnameLen || !hostnameRE.MatchString(hostname) {
		return fault.New(fault.Invalid, "hostname %q (%d bytes) is invalid: it must be at most %d characters of A-Z a-z 0-9 . _ -", Clip(hostname), len(hostname), MaxHostnameLen)
	}
	for _, f := range []struct {
		name, v string
		limit   int
	}{{"os", goos, MaxPlatformLen}, {"arch", arch, MaxPlatformLen}, {"agent_version", agentVersion, MaxAgentVersionLen}} {
		if len(f.v) > f.limit || !printable(f.v) {
			return fault.New(fault.Invalid, "%s %q (%d bytes) is invalid: it must be at most %d printable characters", f.name, Clip(f.v), len(f.v), f.limit)
		}
	}
	return nil
}

// ValidateTags checks tags: at most 64, keys as names (1-100 of A-Z a-z 0-9 . _ -), values at
// most 256 printable characters.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return fault.New(fault.Invalid, "%d tags given; the limit is %d", len(tags), MaxTags)
	}
	for k, v := range tags {
		if err := ValidateName("tag key", k); err != nil {
			return fault.New(fault.Invalid, "tag key %q is invalid: use 1-100 characters of A-Z a-z 0-9 . _ -", Clip(k))
		}
		if len(v) > MaxTagValueLen || !printable(v) {
			return fault.New(fault.Invalid, "tag %s: value %q (%d bytes) is invalid: it must be at most %d printable characters", k, Clip(v), len(v), MaxTagValueLen)
		}
	}
	return nil
}

// ValidateAllowTags checks a registration token's --allow-tag patterns: at most 32 glob patterns
// (path.Match syntax) over "key=value", each with an "=", or "*" for any tag.
func ValidateAllowTags(patterns []string) error {
	if len(patterns) > MaxAllowTags {
		return fault.New(fault.Invalid, "%d --allow-tag patterns given; the limit is %d", len(patterns), MaxAllowTags)
	}
	for _, p := range patterns {
		if len(p) > MaxAllowTagLen || !printable(p) || (!strings.Contains(p, "=") && p != "*") {
			return fault.New(fault.Invalid, "--allow-tag %q is invalid: give a pattern over key=value such as role=* or zone=eu-* (or * for any tag), at most %d printable characters", Clip(p), MaxAllowTagLen)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fault.New(fault.Invalid, "--allow-tag %q is not a valid pattern (path.Match syntax: * ? [a-z] and \\ to escape)", Clip(p))
		}
	}
	return nil
}

// TagAllowed reports whether "key=value" matches one of a registration token's patterns.
func TagAllowed(key, value string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, key+"="+value); ok {
			return true
		}
	}
	return false
}
