package kv

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/fault"
)

func TestValidateKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
		msg string
	}{
		{"a", true, ""},
		{"builds/cache/max-size", true, ""},
		{"A-Z_a.z/0-9", true, ""},
		{".hidden/x.y", true, ""},
		{strings.Repeat("k", MaxKeyLen), true, ""},
		{"", false, "empty"},
		{strings.Repeat("k", MaxKeyLen+1), false, "1-256 bytes"},
		{"/abs", false, "starts with /"},
		{"trailing/", false, "empty path segment"},
		{"double//slash", false, "empty path segment"},
		{"a/../b", false, "contains .."},
		{"..", false, "contains .."},
		{"a..b", false, "contains .."},
		{"a/./b", false, `segment "."`},
		{".", false, `segment "."`},
		{"with space", false, "character outside"},
		{"ünïcode", false, "character outside"},
		{"a\x00b", false, "character outside"},
		{"a?b", false, "character outside"},
		{"a%2Fb", false, "character outside"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			err := ValidateKey(tc.key)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v; want an invalid error saying %q", err, tc.msg)
			}
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, ok := range []string{"", "builds/", "a", "a/b/"} {
		if err := ValidatePrefix(ok); err != nil {
			t.Errorf("prefix %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"a b", "a?", strings.Repeat("p", MaxKeyLen+1)} {
		if err := ValidatePrefix(bad); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("prefix %q: %v, want invalid", bad, err)
		}
	}
}

// FuzzValidateKey checks that the validator never panics, and that every key it accepts keeps
// the promised shape: bounded, of the allowed bytes, a relative path of non-empty segments with
// no "." or ".." anywhere a path could be climbed with.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a", "a/b", "/a", "a/", "a//b", "a/../b", "..", ".", "a/./b", "é", "a\x00", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := ValidateKey(key)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid {
				t.Fatalf("refusal of %q is not invalid: %v", key, err)
			}
			return
		}
		if len(key) == 0 || len(key) > MaxKeyLen {
			t.Fatalf("accepted a key of %d bytes", len(key))
		}
		for i := 0; i < len(key); i++ {
			if !keyByte(key[i]) {
				t.Fatalf("accepted %q with byte %q", key, key[i])
			}
		}
		if strings.Contains(key, "..") {
			t.Fatalf("accepted %q with ..", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." {
				t.Fatalf("accepted %q with segment %q", key, seg)
			}
		}
		if ValidatePrefix(key) != nil {
			t.Fatalf("accepted key %q is not a valid prefix", key)
		}
	})
}
