package codeowners

import (
	"fmt"
	"strings"
	"testing"
)

// TestPatterns: gitignore's patterns as CODEOWNERS reads them, each against paths it must and
// must not match.
func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		yes, no []string
	}{
		{"*", []string{"a", "a.go", "x/y/z.md", ".github/CODEOWNERS"}, nil},
		{"**", []string{"a", "x/y/z"}, nil},
		{"/**", []string{"a", "x/y/z"}, nil},
		{"*.go", []string{"main.go", "cmd/x/main.go", "a.go/b"}, []string{"main.go.txt", "go", "x.gox"}},
		{"*.js", []string{"a.js", "web/app.js"}, []string{"a.jsx", "a.ts"}},
		{"logs", []string{"logs", "logs/a", "x/logs", "x/logs/y/z"}, []string{"logs.txt", "x/mylogs/a"}},
		{"apps/", []string{"apps/a", "x/apps/b/c"}, []string{"apps", "x/apps", "appsx/a"}},
		{"/build/logs/", []string{"build/logs/a", "build/logs/x/y"}, []string{"build/logs", "x/build/logs/a", "build/logsx/a"}},
		{"/docs/", []string{"docs/a.md", "docs/x/y.md"}, []string{"docs", "x/docs/a.md"}},
		{"docs/*", []string{"docs/getting-started.md", "docs/x"}, []string{"docs/build-app/troubleshooting.md", "docs", "x/docs/a"}},
		{"/*", []string{"a", "Makefile"}, []string{"a/b"}},
		{"/*/", []string{"a/b", "a/b/c"}, []string{"a"}},
		{"/f*", []string{"foo", "foo/bar/baz"}, []string{"bar/foo", "xfoo"}},
		{"f*/", []string{"foo/bar", "x/foo/bar"}, []string{"foo", "x/foo"}},
		{"**/logs", []string{"logs/a", "build/logs/a", "deeply/nested/logs/x", "logs"}, []string{"build/logsx/a"}},
		{"foo/bar", []string{"foo/bar", "foo/bar/baz"}, []string{"x/foo/bar", "foo/bart"}},
		{"/foo/bar", []string{"foo/bar", "foo/bar/baz"}, []string{"x/foo/bar"}},
		{"foo/bar/", []string{"foo/bar/baz"}, []string{"foo/bar", "x/foo/bar/baz"}},
		{"foo/*.txt", []string{"foo/a.txt"}, []string{"foo/a/b.txt", "x/foo/a.txt", "foo"}},
		{"foo/*/baz", []string{"foo/bar/baz", "foo/bar/baz/qux"}, []string{"foo/baz", "foo/a/b/baz"}},
		{"**/foo/bar", []string{"foo/bar", "q/foo/bar", "q/foo/bar/baz"}, []string{"foo/baz/bar"}},
		{"foo/bar/**", []string{"foo/bar/baz", "foo/bar/baz/qux"}, []string{"foo/bar", "q/foo/bar/baz"}},
		{"foo/**/bar", []string{"foo/bar", "foo/q/bar", "foo/q/r/bar/baz"}, []string{"q/foo/bar", "foo/barx"}},
		{"foo/**/", []string{"foo/bar", "foo/bar/baz"}, []string{"foo"}},
		{"foo/**/bar/b*", []string{"foo/bar/baz", "foo/q/bar/baz"}, []string{"foo/bar", "foo/bar/qux"}},
		{"a/**/**/b", []string{"a/b", "a/x/y/b"}, []string{"b"}},
		{"**/*bar*", []string{"bar", "foo/rebar", "foo/barrio", "foo/q/bar"}, []string{"foo/baz"}},
		{"f?o", []string{"foo", "x/fao"}, []string{"fo", "fooo", "f/o"}},
		{`f\*o`, []string{"f*o"}, []string{"foo"}},
		{`f\?o`, []string{"f?o"}, []string{"foo"}},
		{`\#notes`, []string{"#notes", "x/#notes"}, []string{"notes"}},
		{`my\ file.txt`, []string{"my file.txt", "d/my file.txt"}, []string{"my", "file.txt"}},
		{"[abc].go", []string{"a.go", "x/c.go"}, []string{"d.go", "ab.go"}},
		{"[a-c]*.md", []string{"apple.md", "cherry.md"}, []string{"date.md"}},
		{"[!a-c]*.md", []string{"date.md"}, []string{"apple.md"}},
		{"[^a-c]*.md", []string{"date.md"}, []string{"apple.md"}},
		{"[]]x", []string{"]x"}, []string{"x"}},
		{"[\\]]x", []string{"]x"}, []string{"x"}},
		{"file-[0-9][0-9].txt", []string{"file-42.txt"}, []string{"file-4.txt", "file-4a.txt"}},
		{"a**b", []string{"ab", "axxb"}, []string{"a/b", "a/x/b"}},
		{"*.GO", []string{"x.GO"}, []string{"x.go"}},
		{"é*.txt", []string{"été.txt"}, []string{"ete.txt"}},
		{"?", []string{"é", "x/a"}, []string{"ab"}},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			p, _, msg := compile(tc.pattern)
			if msg != "" {
				t.Fatalf("refused: %s", msg)
			}
			for _, path := range tc.yes {
				if !p.match(path) {
					t.Errorf("does not match %q; want a match", path)
				}
			}
			for _, path := range tc.no {
				if p.match(path) {
					t.Errorf("matches %q; want none", path)
				}
			}
		})
	}
}

// githubExample is the example file of GitHub's "About code owners", its comments shortened.
const githubExample = `# Default owners for everything in the repo, unless a later match takes precedence.
*       @global-owner1 @global-owner2

# The last matching pattern takes the most precedence.
*.js    @js-owner #This is an inline comment.

# Email addresses.
*.go docs@example.com

# Teams as @org/team-name.
*.txt @octo-org/octocats

/build/logs/ @doctocat

# docs/* matches docs/getting-started.md but not docs/build-app/troubleshooting.md.
docs/* docs@example.com

apps/ @octocat

/docs/ @doctocat

/scripts/ @doctocat @octocat

**/logs @octocat

# /apps/github has no owners.
/apps/ @octocat
/apps/github
`

// TestGitHubExample: who owns what under GitHub's documented example file: the last matching
// line decides, a line without owners leaves its paths without, teams and emails are read.
func TestGitHubExample(t *testing.T) {
	f := Parse([]byte(githubExample))
	for path, want := range map[string]string{
		"README.md":                         "@global-owner1 @global-owner2",
		"web/app.js":                        "@js-owner",
		"main.go":                           "docs@example.com",
		"notes.txt":                         "@octo-org/octocats",
		"build/logs/today.log":              "@octocat", // **/logs comes later
		"docs/getting-started.md":           "@doctocat",
		"docs/build-app/troubleshooting.md": "@doctocat",
		"x/apps/y.rb":                       "@octocat",
		"apps/github/a.rb":                  "",
		"apps/githubx/a.rb":                 "@octocat",
		"scripts/deploy.sh":                 "@doctocat @octocat",
		"deeply/nested/logs/a.txt":          "@octocat",
	} {
		r := f.Match(path)
		if r == nil {
			t.Errorf("%s: no rule matches", path)
			continue
		}
		if got := ownersString(r.Owners); got != want {
			t.Errorf("%s: owned by %q (line %d); want %q", path, got, r.Line, want)
		}
	}
	r := f.Match("notes.txt")
	if o := r.Owners[0]; o.Kind != Team || o.Org != "octo-org" || o.Name != "octocats" {
		t.Errorf("team owner read as %+v", o)
	}
	// The two email lines are reported, and apply.
	var lines []int
	for _, d := range f.Diagnostics {
		if d.Kind != KindEmail {
			t.Errorf("unexpected diagnostic %s", d)
		}
		lines = append(lines, d.Line)
	}
	if fmt.Sprint(lines) != "[8 16]" {
		t.Errorf("email diagnostics on lines %v; want [8 16]", lines)
	}
}

func ownersString(os []Owner) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = o.String()
	}
	return strings.Join(s, " ")
}

// TestBadLines: each bad line is reported with its number and kind and skipped; the others
// apply, in order.
func TestBadLines(t *testing.T) {
	file := strings.Join([]string{
		"* @all",                             // 1
		"!*.md @docs",                        // 2 negation
		"*.go @bad!name",                     // 3 owner syntax
		"*.go alice",                         // 4 owner syntax (no @)
		"[a-.txt @x",                         // 5 unterminated set
		"/ @root",                            // 6 matches nothing
		"a//b @x",                            // 7 empty segment
		"../x @x",                            // 8 ..
		"*.py @a @org/t/u",                   // 9 bad team
		"*.rb @a \\",                         // 10 lone backslash
		"\\#x @hash",                         // 11 good: escaped #
		"*.c   @c   # tail",                  // 12 good, with a comment
		"*.h @o/" + strings.Repeat("t", 101), // 13 team name too long
		"",                                   // 14
		"  # indented comment",               // 15
		"*.cc @x\r",                          // 16 good, CRLF
		"[z-a] @x",                           // 17 reversed range
	}, "\n")
	f := Parse([]byte(file))
	want := map[int]Kind{2: KindNegation, 3: KindOwner, 4: KindOwner, 5: KindPattern, 6: KindPattern, 7: KindPattern, 8: KindPattern, 9: KindOwner, 10: KindPattern, 13: KindOwner, 17: KindPattern}
	got := map[int]Kind{}
	for _, d := range f.Diagnostics {
		got[d.Line] = d.Kind
		if !strings.Contains(d.String(), fmt.Sprintf("line %d: ", d.Line)) || !strings.Contains(d.Message, "line skipped") {
			t.Errorf("diagnostic %q does not say its line and that it was skipped", d)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("diagnostics by line %v; want %v", got, want)
	}
	var lines []int
	for _, r := range f.Rules {
		lines = append(lines, r.Line)
	}
	if fmt.Sprint(lines) != "[1 11 12 16]" {
		t.Errorf("rules from lines %v; want [1 11 12 16]", lines)
	}
	if f := Parse([]byte("\ufeff*.go @bom\r\n")); len(f.Rules) != 1 || f.Match("x.go") == nil {
		t.Errorf("a file starting with a byte order mark: %+v", f)
	}
	for path, want := range map[string]string{"a.go": "@all", "a.md": "@all", "#x": "@hash", "x.c": "@c", "y.cc": "@x"} {
		if r := f.Match(path); r == nil || ownersString(r.Owners) != want {
			t.Errorf("%s: %+v; want %s", path, r, want)
		}
	}
}

// TestBounds: a file over the size or rule bound is ignored with one diagnostic; diagnostics
// stop at MaxDiagnostics plus one that counts the rest; a line with too many owners is skipped.
func TestBounds(t *testing.T) {
	big := Parse([]byte("* @a\n" + strings.Repeat("#", MaxSize)))
	if len(big.Rules) != 0 || len(big.Diagnostics) != 1 || big.Diagnostics[0].Kind != KindTooLarge {
		t.Errorf("a file over %d bytes: %+v", MaxSize, big)
	}
	many := Parse([]byte(strings.Repeat("a @b\n", MaxRules+1)))
	if len(many.Rules) != 0 || len(many.Diagnostics) != 1 || many.Diagnostics[0].Kind != KindTooLarge {
		t.Errorf("a file of %d rules: %d rules, %v", MaxRules+1, len(many.Rules), many.Diagnostics)
	}
	if ok := Parse([]byte(strings.Repeat("a @b\n", MaxRules))); len(ok.Rules) != MaxRules {
		t.Errorf("a file of %d rules has %d", MaxRules, len(ok.Rules))
	}
	bad := Parse([]byte(strings.Repeat("!a @b\n", MaxDiagnostics+7)))
	if n := len(bad.Diagnostics); n != MaxDiagnostics+1 || bad.Diagnostics[n-1].Kind != KindMore || !strings.Contains(bad.Diagnostics[n-1].Message, "7 more") {
		t.Errorf("%d bad lines: %d diagnostics, last %v", MaxDiagnostics+7, n, bad.Diagnostics[n-1])
	}
	owners := "x" + strings.Repeat(" @u", MaxOwners+1)
	if f := Parse([]byte(owners)); len(f.Rules) != 0 || len(f.Diagnostics) != 1 || f.Diagnostics[0].Kind != KindOwner {
		t.Errorf("a line of %d owners: %+v", MaxOwners+1, f)
	}
}

// TestPatternCost: a pattern full of ** against a deep path answers at once (the matcher is
// segments × pattern segments, not exponential).
func TestPatternCost(t *testing.T) {
	p, _, msg := compile(strings.Repeat("**/a*/", 30) + "b")
	if msg != "" {
		t.Fatal(msg)
	}
	deep := strings.Repeat("a/", 2000) + "c"
	if p.match(deep) {
		t.Fatal("matched a path without b")
	}
	if _, _, msg := compile(strings.Repeat("a/", maxSegments) + "b"); msg == "" {
		t.Fatalf("a pattern of %d segments accepted", maxSegments+1)
	}
}

// FuzzParse: any file parses without panicking; what it keeps is well formed (lines in range,
// owners of their syntax), what it reports names a line of the file, and Match answers the
// last matching rule.
func FuzzParse(f *testing.F) {
	f.Add([]byte(githubExample), "docs/a.md")
	f.Add([]byte("* @a\n!x @b\n[a- @c\n\\#y @d @o/t e@x.io\n"), "#y")
	f.Add([]byte("**/**/a/**/b* @x\r\n/c/ @y\n"), "a/b/c")
	f.Add([]byte("[]-]x @a\n[!\\]]y @b\n"), "]x")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		file := Parse(data)
		lines := strings.Count(string(data), "\n") + 1
		last := 0
		for _, r := range file.Rules {
			if r.Line <= last || r.Line > lines {
				t.Fatalf("rule on line %d after %d, of %d", r.Line, last, lines)
			}
			last = r.Line
			if len(r.Owners) > MaxOwners {
				t.Fatalf("line %d kept with %d owners", r.Line, len(r.Owners))
			}
			for _, o := range r.Owners {
				if _, ok := parseOwner(o.String()); !ok || strings.ContainsAny(o.Name, "*?[ \t\n") {
					t.Fatalf("line %d kept owner %q", r.Line, o)
				}
			}
		}
		if len(file.Rules) > MaxRules || len(file.Diagnostics) > MaxDiagnostics+1 {
			t.Fatalf("%d rules, %d diagnostics", len(file.Rules), len(file.Diagnostics))
		}
		for _, d := range file.Diagnostics {
			if d.Line < 0 || d.Line > lines || d.Message == "" {
				t.Fatalf("diagnostic %+v of a file of %d lines", d, lines)
			}
		}
		for _, r := range file.Rules {
			if !r.pat.all && r.pat.matchSegments(path) && !strings.Contains(path, r.pat.need) {
				t.Fatalf("line %d matches %q, which lacks the text %q every match needs", r.Line, path, r.pat.need)
			}
		}
		r := file.Match(path)
		for i := len(file.Rules) - 1; i >= 0; i-- {
			if file.Rules[i].pat.match(path) {
				if r != &file.Rules[i] {
					t.Fatalf("Match(%q) answered %+v, not the last matching rule (line %d)", path, r, file.Rules[i].Line)
				}
				return
			}
		}
		if r != nil {
			t.Fatalf("Match(%q) answered line %d; no rule matches", path, r.Line)
		}
	})
}
