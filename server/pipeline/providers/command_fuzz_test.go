package providers

import (
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/buildspec"
)

// FuzzCommandsBuildspec: whatever a Command action's commands hold, the buildspec the
// provider writes for them loads without errors and runs exactly those commands, in order,
// exporting the names given; a labels value either parses into labels that say it back, or is
// refused.
func FuzzCommandsBuildspec(f *testing.F) {
	f.Add("make test", `echo "a: b" # c`, "os=linux,role=runner")
	f.Add("- x\n  y: z", "'quoted' \\ \t\u2028", " k = v , k2=v2 ")
	f.Add("", "{[&*!|>%@`", "os")
	f.Fuzz(func(t *testing.T, c1, c2, labels string) {
		commands := []string{c1, c2}
		for _, c := range commands {
			if strings.TrimSpace(c) == "" || strings.ContainsRune(c, 0) || !validText(c) {
				t.Skip()
			}
		}
		text := commandsBuildspec(commands, []string{"OUT", "B_2"})
		spec, diags := buildspec.Load("buildspec", []byte(text))
		if diags.HasErrors() {
			t.Fatalf("the buildspec for %q does not load: %v\n%s", commands, diags, text)
		}
		ph := spec.Phases["build"]
		if ph == nil || !slices.Equal(ph.Commands, commands) {
			t.Fatalf("the buildspec runs %v, want %q\n%s", ph, commands, text)
		}
		if !slices.Equal(spec.Env.ExportedVariables, []string{"OUT", "B_2"}) {
			t.Fatalf("exported %q", spec.Env.ExportedVariables)
		}
		got, err := parseLabels(labels)
		if err != nil {
			return
		}
		for k, v := range got {
			if !labelsRe.MatchString(k) || v == "" || strings.Contains(v, ",") {
				t.Fatalf("parseLabels(%q) gave %q=%q", labels, k, v)
			}
		}
	})
}

// validText is what a buildspec's text may hold (UTF-8 YAML accepts, without control
// characters other than tab).
func validText(s string) bool {
	for _, r := range s {
		if r == 0xFFFD || (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xFEFF {
			return false
		}
	}
	return true
}
