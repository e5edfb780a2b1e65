package git

import (
	"strings"
	"testing"
)

func TestCheckRev(t *testing.T) {
	for _, ok := range []string{"main", "feature/x", "v1.0", "HEAD", "main~2", "v1^{commit}", strings.Repeat("a", 40)} {
		if err := checkRev("ref", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-h", "--output=x", "a..b", "a...b", "main@{1}", ":/msg", "main:README", "a b", "a\x00b", "ref*", "a\\b", strings.Repeat("a", 1025), "\xff"} {
		if err := checkRev("ref", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "a": "a", "/a/b/": "a/b", "a-b/.c": "a-b/.c", "a:b": "a:b"} {
		if got, err := checkPath(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"..", "a/..", "../a", "a/../b", "a//b", "./a", "a/./b", "-a", "a/-b", "a\x00b", "a\nb", "\xff", strings.Repeat("a", 4097)} {
		if _, err := checkPath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseLogCursor(t *testing.T) {
	tip := strings.Repeat("ab", 20)
	c, err := parseLogCursor(tip + ".50")
	if err != nil || c != (logCursor{Tip: tip, Skip: 50}) || c.String() != tip+".50" {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, bad := range []string{"", "main.1", tip, tip + ".", tip + ".0", tip + ".-1", tip + ".01", tip + ".1000001", tip[:39] + ".1", "-" + tip[1:] + ".1"} {
		if _, err := parseLogCursor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzBrowseInput: what the checks accept can never reach git as an option, leave the tree or
// name more than one revision, and a cursor read back prints the same.
func FuzzBrowseInput(f *testing.F) {
	for _, s := range []string{"main", "-h", "a/../b", "/a/b/", strings.Repeat("ab", 20) + ".3", "a..b", "x@{1}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkRev("ref", s) == nil && (strings.HasPrefix(s, "-") || strings.Contains(s, "..") || strings.ContainsAny(s, ": \n\x00")) {
			t.Fatalf("rev %q accepted", s)
		}
		if p, err := checkPath(s); err == nil {
			for _, e := range strings.Split(p, "/") {
				if p != "" && (e == "" || e == "." || e == ".." || strings.HasPrefix(e, "-")) {
					t.Fatalf("path %q accepted as %q", s, p)
				}
			}
			if strings.ContainsAny(p, "\x00\n") || strings.HasPrefix(p, "/") {
				t.Fatalf("path %q accepted as %q", s, p)
			}
		}
		if c, err := parseLogCursor(s); err == nil {
			if again, err := parseLogCursor(c.String()); err != nil || again != c || !isHexID(c.Tip) || c.Skip <= 0 {
				t.Fatalf("cursor %q read as %+v, again %+v, %v", s, c, again, err)
			}
		}
	})
}
