package appspec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Load panic, that it always returns
// a spec, and that every diagnostic is positioned and worded.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.yml"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
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
	})
}
