package secrets

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/fault"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string // "" when valid
	}{
		{"db-password", ""},
		{"prod/db/password", ""},
		{"A-Za-z0-9/_+=.@-", ""},
		{"user@example.com", ""},
		{"a.b", ""},
		{"..a", ""},
		{strings.Repeat("n", 512), ""},
		{"", "empty"},
		{strings.Repeat("n", 513), "names are 1-512 bytes"},
		{"a b", "outside A-Z"},
		{"a%2Fb", "outside A-Z"},
		{"a:b", "outside A-Z"},
		{"é", "outside A-Z"},
		{"/a", "empty path segment"},
		{"a/", "empty path segment"},
		{"a//b", "empty path segment"},
		{"a/./b", `segment "."`},
		{"a/..", `segment ".."`},
		{"..", `segment ".."`},
	} {
		err := ValidateName(tc.name)
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%q: %v; want valid", tc.name, err)
		case tc.msg != "" && (fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("%q: %v; want invalid saying %q", tc.name, err, tc.msg)
		}
	}
	if err := ValidatePrefix("prod/"); err != nil {
		t.Errorf("prefix prod/: %v", err)
	}
	if err := ValidatePrefix("a b"); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("prefix with a space: %v", err)
	}
}

// FuzzValidateName: an accepted name always has the promised shape, so it travels in a URL path
// unchanged by a router's cleaning.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"prod/db", "a//b", "../x", "a/./b", "x@y.z", strings.Repeat("a", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		if len(name) < 1 || len(name) > MaxNameLen {
			t.Fatalf("accepted %q of %d bytes", name, len(name))
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("accepted %q with segment %q", name, seg)
			}
		}
		for i := 0; i < len(name); i++ {
			if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+=.@-", rune(name[i])) {
				t.Fatalf("accepted %q with byte %q", name, name[i])
			}
		}
	})
}
