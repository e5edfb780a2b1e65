package buildspec

import (
	"os"
	"path/filepath"
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
