package pipelinespec

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that every diagnostic is positioned and
// worded, that a pipeline comes back exactly when there are no errors, and that a pipeline
// returned without errors passes again, unchanged, after a JSON round trip through its types
// (what the service stores and the CLI shows).
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, p := range corpus(f, dir) {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, diags := Parse("fuzz.yml", data)
		for _, d := range diags {
			if d.Line < 1 || d.Column < 1 || d.Message == "" || (d.Severity != SeverityError && d.Severity != SeverityWarning) {
				t.Fatalf("malformed diagnostic %+v", d)
			}
		}
		if (p == nil) != diags.HasErrors() {
			t.Fatalf("pipeline %v with diagnostics:\n%s", p != nil, diags)
		}
		if p == nil {
			return
		}
		_ = p.EffectiveTriggers()
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		again, diags2 := Parse("roundtrip.json", b)
		if diags2.HasErrors() {
			t.Fatalf("the JSON of a valid pipeline is invalid:\n%s\n%s", diags2, b)
		}
		b2, _ := json.Marshal(again)
		if string(b) != string(b2) {
			t.Fatalf("the round trip changed the pipeline:\n%s\n%s", b, b2)
		}
	})
}

// FuzzMatch checks that no pattern or name makes CheckPattern or Match panic, that a pattern
// matches itself escaped, and that "**" matches everything.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"**/*.md", "README.md"}, {"release/*", "release/1.0"}, {"[a-", "a"}, {"{a,b}/**", "a/x/y"}, {`\*`, "*"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 300 || len(name) > 300 {
			return
		}
		_ = CheckPattern(pattern)
		_ = Match(pattern, name)
		if !Match("**", name) {
			t.Fatalf("** does not match %q", name)
		}
		if len(name) <= maxPatternLen/2 && !Match(escapePattern(name), name) {
			t.Fatalf("the escaped pattern of %q does not match it", name)
		}
	})
}
