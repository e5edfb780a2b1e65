package cli

import (
	"strings"
	"testing"
)

// FuzzParsePairs: --var and --source-revision never panic, and what they accept is a map of
// non-empty names to the text after the first "=" of each flag, one entry per flag.
func FuzzParsePairs(f *testing.F) {
	for _, seed := range []string{"STAGE=prod", "A=", "=x", "noequals", "A=b=c", " K =v", ""} {
		f.Add(seed, "B=2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		m, err := parsePairs("var", []string{a, b})
		if err != nil {
			return
		}
		if len(m) != 2 {
			t.Fatalf("%q %q: %v", a, b, m)
		}
		for _, v := range []string{a, b} {
			k, val, _ := strings.Cut(v, "=")
			if k = strings.TrimSpace(k); k == "" || m[k] != val {
				t.Fatalf("%q: %v", v, m)
			}
		}
	})
}
