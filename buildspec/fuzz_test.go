package buildspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Load panic, that it always returns
// a spec, that every diagnostic is positioned and worded, and that Validate
// is repeatable.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		seeds, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yml"))
		for _, p := range seeds {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, diags := Load("fuzz.yml", data)
		if s == nil {
			t.Fatal("nil spec")
		}
		for _, d := range diags {
			if d.Line < 1 || d.Column < 1 || d.Message == "" || (d.Severity != SeverityError && d.Severity != SeverityWarning) {
				t.Fatalf("malformed diagnostic %+v", d)
			}
		}
		_ = diags.String()
		first, second := s.Validate(), s.Validate()
		if len(first) != len(second) {
			t.Fatal("Validate is not repeatable")
		}
		if !diags.HasErrors() {
			for _, name := range PhaseNames {
				if ph := s.Phase(name); ph != nil {
					for _, c := range append(ph.Commands, ph.Finally...) {
						_ = c
					}
				}
			}
		}
	})
}

// FuzzMatch checks that no pattern or path makes Match or MatchPrefix
// panic, and the two rules every artifact relies on: "**/*" takes every
// file, and a path that matches a pattern is reachable by MatchPrefix from
// each of its parent directories.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"**/*", "a/b"}, {"dist/**/*.js", "dist/x/y.js"}, {"[a-", "a"}, {"a/**/b/**/c", "a/x/b/c"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 200 || len(name) > 200 {
			return
		}
		ok := Match(pattern, name)
		parts := splitPath(name)
		if len(parts) > 0 && !Match("**/*", name) {
			t.Fatalf("**/* does not match %q", name)
		}
		if ok && CheckPattern(pattern) == nil {
			for i := range parts {
				dir := strings.Join(parts[:i], "/")
				if !MatchPrefix(pattern, dir) {
					t.Fatalf("%q matches %q but MatchPrefix refuses its parent %q", pattern, name, dir)
				}
			}
		}
	})
}
