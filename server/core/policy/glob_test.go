package policy

import (
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		fold, want bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "anything/at:all", false, true},
		{"**", "", false, true},
		{"?", "", false, false},
		{"?", "a", false, true},
		{"?", "ab", false, false},
		{"?", "é", false, true}, // one character, two bytes
		{"??", "é", false, false},
		{"a?c", "a/c", false, true},
		{"app/*", "app/", false, true},
		{"app/*", "app", false, false},
		{"app/*/group/*", "app/shop/group/web", false, true},
		{"app/*/group/*", "app/shop/web", false, false},
		{"app/shop", "app/shop/group/web", false, false}, // no implicit prefix match
		{"app/shop*", "app/shop/group/web", false, true}, // '*' crosses '/'
		{"*a*b*c*", "xxaxxbxxcxx", false, true},
		{"*a*b*c*", "xxaxxcxxbxx", false, false},
		{"a*b", "aXbXb", false, true},
		{"a*b", "aXbXc", false, false},
		{"*?", "", false, false},
		{"*?", "x", false, true},
		{"App/Shop", "app/shop", false, false}, // resources are case-sensitive
		{"deploy:get*", "deploy:GetApplication", true, true},
		{"DEPLOY:*", "deploy:CreateDeployment", true, true},
		{"deploy:Get?", "deploy:GetX", true, true},
		{"deploy:Get?", "deploy:Get", true, false},
		{"*:Read*", "kv:ReadKey", true, true},
		{"*:Read*", "kv:PutKey", true, false},
		{"[a]", "a", false, false}, // no character classes: brackets are literal
		{"[a]", "[a]", false, true},
		{`\*`, `\x`, false, true}, // no escapes: backslash is literal
		{strings.Repeat("*a", 20) + "b", strings.Repeat("a", 200), false, false},
	} {
		if got := match(tc.pattern, tc.s, tc.fold); got != tc.want {
			t.Errorf("match(%q, %q, fold=%v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}

// globRegexp is the reference matcher: '*' → ".*", '?' → ".", everything else literal.
func globRegexp(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString("(?s:.*)")
		case '?':
			b.WriteString("(?s:.)")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func TestMatchAgreesWithRegexp(t *testing.T) {
	alphabet := []string{"a", "b", "/", "*", "?", "é"}
	var gen func(n int) []string
	gen = func(n int) []string {
		if n == 0 {
			return []string{""}
		}
		var out []string
		for _, s := range gen(n - 1) {
			for _, c := range alphabet {
				out = append(out, s+c)
			}
		}
		return out
	}
	var patterns, subjects []string
	for n := 0; n <= 3; n++ {
		patterns = append(patterns, gen(n)...)
	}
	for _, s := range append(gen(3), gen(4)...) {
		if !strings.ContainsAny(s, "*?") {
			subjects = append(subjects, s)
		}
	}
	for _, p := range patterns {
		re := globRegexp(p, false)
		for _, s := range subjects {
			if got, want := match(p, s, false), re.MatchString(s); got != want {
				t.Fatalf("match(%q, %q) = %v, regexp says %v", p, s, got, want)
			}
		}
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		match("app/*/group/?eb*", "app/shop/group/web-1", false)
		match("deploy:get*", "deploy:GetApplication", true)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per match", allocs)
	}
}

// path.Match is not the reference: its '*' stops at '/', which a resource pattern must cross.
func TestMatchDiffersFromPathMatchAcrossSlashes(t *testing.T) {
	if ok, _ := path.Match("app/*", "app/shop/group/web"); ok {
		t.Fatal("path.Match crosses '/'")
	}
	if !match("app/*", "app/shop/group/web", false) {
		t.Fatal("match does not cross '/'")
	}
}

func TestCompiledPatternAgreesWithMatch(t *testing.T) {
	for _, p := range []string{"", "*", "a", "ab", "a*", "*a", "a?", "?a", "deploy:Get*", "app/*/group/?", "APP/x"} {
		pt := compilePattern(p)
		for _, s := range []string{"", "a", "A", "ab", "aB", "ba", "deploy:GetX", "DEPLOY:get", "app/s/group/w", "app/x", "app/s/group/"} {
			for _, fold := range []bool{false, true} {
				if got, want := pt.matches(s, fold), match(p, s, fold); got != want {
					t.Errorf("compiled %q on %q fold=%v: %v, match says %v", p, s, fold, got, want)
				}
			}
		}
	}
}
