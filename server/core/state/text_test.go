package state

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/fault"
)

func TestValidateNameAndText(t *testing.T) {
	huge := strings.Repeat("a", 900<<10)
	cases := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
		msg   string
	}{
		{"plain name", func(s string) error { return ValidateName("app", s) }, "web-1.prod_a", true, ""},
		{"name with escape", func(s string) error { return ValidateName("app", s) }, "web\x1b[31m", false, "A-Z a-z 0-9"},
		{"name with newline", func(s string) error { return ValidateName("app", s) }, "web\n", false, "A-Z a-z 0-9"},
		{"path-ish name", func(s string) error { return ValidateName("app", s) }, "../../x", false, "A-Z a-z 0-9"},
		{"dot-dot", func(s string) error { return ValidateName("app", s) }, "..", false, "reserved"},
		{"900 KB name", func(s string) error { return ValidateName("app", s) }, huge, false, "too long"},
		{"empty name", func(s string) error { return ValidateName("app", s) }, "", false, "empty"},
		{"description", func(s string) error { return ValidateDescription("app", s) }, "Serves the shop — ünïcode ok", true, ""},
		{"empty description", func(s string) error { return ValidateDescription("app", s) }, "", true, ""},
		{"description with escape", func(s string) error { return ValidateDescription("app", s) }, "red \x1b[31m text", false, "control character U+001B"},
		{"description with newline", func(s string) error { return ValidateDescription("app", s) }, "two\nlines", false, "control character U+000A"},
		{"description with tab", func(s string) error { return ValidateDescription("app", s) }, "a\tb", false, "control character"},
		{"description with C1", func(s string) error { return ValidateDescription("app", s) }, "a\u009bb", false, "control character"},
		{"description with bidi override", func(s string) error { return ValidateDescription("app", s) }, "abc\u202Edef", false, "U+202E"},
		{"900 KB description", func(s string) error { return ValidateDescription("app", s) }, huge, false, "limit is 1024"},
		{"invalid UTF-8", func(s string) error { return ValidateDescription("app", s) }, "a\xffb", false, "UTF-8"},
		{"label", func(s string) error { return ValidateLabel("token name", s, true) }, "CI deploy token", true, ""},
		{"empty required label", func(s string) error { return ValidateLabel("token name", s, true) }, "", false, "empty"},
		{"label 257 bytes", func(s string) error { return ValidateLabel("token name", s, true) }, strings.Repeat("x", 257), false, "limit is 256"},
		{"path-ish label", func(s string) error { return ValidateLabel("token name", s, true) }, "../../x", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v; want bad_request saying %q", err, tc.msg)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("the error echoes %d bytes: %.100s...", len(err.Error()), err)
			}
		})
	}
}

func TestShorten(t *testing.T) {
	if got := Shorten("abc"); got != `"abc"` {
		t.Fatalf("Shorten(abc) = %s", got)
	}
	got := Shorten(strings.Repeat("é", 100)) // 200 bytes; the cut must not split a character
	if !strings.HasSuffix(got, "... (200 bytes)") || strings.Contains(got, `\x`) {
		t.Fatalf("Shorten = %s", got)
	}
	if got := Shorten("a\x1b[31m"); strings.ContainsRune(got, 0x1b) {
		t.Fatalf("Shorten kept a raw escape: %q", got)
	}
}

func TestCleanText(t *testing.T) {
	cases := []struct {
		in, want string
		max      int
		changed  bool
	}{
		{"plain text — ünïcode", "plain text — ünïcode", 64, false},
		{"two\nlines\tand\r", "two lines and ", 64, true},
		{"red \x1b[31m\x00\u202eX", "red \uFFFD[31m\uFFFD\uFFFDX", 64, true},
		{"bad \xff utf-8", "bad \uFFFD utf-8", 64, true},
		{"exactly ten", "exactly ten", 11, false},
		{"0123456789abc", "012345…", 9, true},
		{"ab\ncdefgh", "ab cdefgh", 9, true}, // cleaned, still fits: not cut
		{"ééééé", "éé…", 7, true},            // cut at a character boundary
		{strings.Repeat("x", 1<<20), strings.Repeat("x", 253) + "…", 256, true},
	}
	for _, c := range cases {
		got, changed := CleanText(c.in, c.max)
		if got != c.want || changed != c.changed {
			t.Errorf("CleanText(%.20q, %d) = %.40q, %v; want %.40q, %v", c.in, c.max, got, changed, c.want, c.changed)
		}
		if len(got) > c.max {
			t.Errorf("CleanText(%.20q, %d) is %d bytes", c.in, c.max, len(got))
		}
	}
}
