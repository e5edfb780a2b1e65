package pipelinespec

import "testing"

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"main", "main", true},
		{"main", "mainline", false},
		{"*", "main", true},
		{"*", "feature/x", false},
		{"feature/*", "feature/x", true},
		{"feature/*", "feature/x/y", false},
		{"feature/**", "feature/x/y", true},
		{"**", "a/b/c", true},
		{"**", "", true},
		{"**/*.md", "README.md", true},
		{"**/*.md", "docs/guide/a.md", true},
		{"**/*.md", "docs/a.mdx", false},
		{"docs/**", "docs/a/b.txt", true},
		{"docs/**", "src/docs/a", false},
		{"src/**/test/*", "src/test/a.go", true},
		{"src/**/test/*", "src/x/y/test/a.go", true},
		{"src/**/test/*", "src/x/test/a/b.go", false},
		{"v?", "v1", true},
		{"v?", "v10", false},
		{"a?b", "a/b", false},
		{"v[0-9]*", "v1.2", true},
		{"v[0-9]*", "vx", false},
		{"v[!0-9]*", "vx", true},
		{"v[^0-9]*", "v1", false},
		{"[]]", "]", true},
		{"*.{js,ts}", "a.ts", true},
		{"*.{js,ts}", "a.go", false},
		{"{src,lib}/**", "lib/a/b", true},
		{`\*`, "*", true},
		{`\*`, "a", false},
		{"release-[a-c]", "release-b", true},
		{"é*", "été", true},
		{"?", "é", true},
		{"[a-", "a", false},
	} {
		if got := Match(tc.pattern, tc.name); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	for _, ok := range []string{"main", "**/*.md", "[a-z]*", "{a,b}", `\{`, "[]]", "a/**"} {
		if err := CheckPattern(ok); err != nil {
			t.Errorf("CheckPattern(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "[a-", "[]", "{a,b", "a}", `a\`, "[z-a]", "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}"} {
		if err := CheckPattern(bad); err == nil {
			t.Errorf("CheckPattern(%q) accepted", bad)
		}
	}
}

func TestEscapePattern(t *testing.T) {
	for _, name := range []string{"main", "feature/[x]", "a*b", "{a,b}", `back\slash`} {
		if !Match(escapePattern(name), name) {
			t.Errorf("escapePattern(%q) = %q does not match it", name, escapePattern(name))
		}
	}
	if Match(escapePattern("a*"), "abc") {
		t.Error("an escaped * still matches a run")
	}
}
