package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

func seeds(f *testing.F, glob string) {
	files, _ := filepath.Glob(filepath.Join("testdata", glob))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// checkCase holds what every case must be, whatever the input: a known
// status, bounded valid text, a duration that is not negative.
func checkCase(t *testing.T, c Case) {
	if !contains(CaseStatuses, c.Status) {
		t.Fatalf("status %q", c.Status)
	}
	for _, s := range []struct {
		v   string
		max int
	}{{c.Name, MaxName}, {c.Prefix, MaxName}, {c.Suite, MaxName}, {c.Message, MaxMessage}, {c.Output, MaxOutput}} {
		if len(s.v) > s.max || !utf8.ValidString(s.v) {
			t.Fatalf("text of %d bytes (max %d), valid %v", len(s.v), s.max, utf8.ValidString(s.v))
		}
	}
	if c.DurationNS < 0 {
		t.Fatalf("duration %d", c.DurationNS)
	}
}

// FuzzParseJUnit checks that no input makes ParseJUnit panic or return
// malformed cases, and that a report counts every case it is given.
func FuzzParseJUnit(f *testing.F) {
	seeds(f, "*.xml")
	f.Add([]byte(`<testsuites><testsuite name="s"><testcase name="a"><error/><failure/></testcase></testsuite></testsuites>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		r := New("g", FormatJUnit)
		err := ParseJUnit(bytes.NewReader(data), func(c Case) {
			checkCase(t, c)
			n++
			r.Add(c)
		})
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		sum := 0
		for _, k := range r.Counts {
			sum += k
		}
		if r.Total != n || sum != n || len(r.Cases) > MaxCases {
			t.Fatalf("total %d, counts %d, kept %d for %d cases", r.Total, sum, len(r.Cases), n)
		}
	})
}

// FuzzParseCucumber is FuzzParseJUnit for Cucumber JSON.
func FuzzParseCucumber(f *testing.F) {
	seeds(f, "*.json")
	f.Add([]byte(`[{"elements":[{"type":"background","steps":[{"result":{"status":"failed","duration":1e30}}]},{"steps":[]}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		err := ParseCucumber(bytes.NewReader(data), func(c Case) {
			checkCase(t, c)
			n++
		})
		if err != nil && n > 0 {
			t.Fatalf("%d cases and an error %v", n, err)
		}
	})
}
