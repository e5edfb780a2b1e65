// Package codeowners reads CODEOWNERS files in GitHub's syntax, so a file moves from GitHub
// unchanged, and says who owns a path. It is pure Go: the caller reads the file (from the
// destination branch of a pull request) and the changed paths; Parse and File.Match answer.
//
// A file is lines of `PATTERN OWNER...`, `#` comments (a whole line, or from a word that starts
// with `#`), and blank lines. A pattern starting with `#` or holding a space is written with a
// backslash (`\#`, `\ `). Patterns are gitignore's (see pattern.go); the LAST line whose pattern
// matches a path decides its owners, and a line with a pattern and no owners leaves the paths it
// matches without owners. An owner is `@USER` (a user name), `@ORG/TEAM` (the group TEAM: the
// ORG part is read and ignored, so GitHub's team owners name Slipway groups of the same name) or
// an email address (kept, but nobody can approve as one: see KindEmail).
//
// A bad line (a bad pattern, `!` negation, an owner that is none of the three) is skipped and
// reported as a Diagnostic with its line number, as GitHub does: the rest of the file applies.
// A file over MaxSize bytes or MaxRules rules is ignored as a whole, with one diagnostic, as
// GitHub ignores a file over its size limit.
package codeowners

import (
	"fmt"
	"strings"
)

// Bounds of a file.
const (
	// MaxSize is the largest file read, in bytes; a larger one is ignored (KindTooLarge).
	MaxSize = 64 << 10
	// MaxRules is the most rule lines a file may have; with more it is ignored (KindTooLarge):
	// matching costs paths × rules.
	MaxRules = 2000
	// MaxOwners is the most owners one line may name; a line with more is skipped.
	MaxOwners = 50
	// MaxDiagnostics is the most diagnostics kept; one more says how many were left out.
	MaxDiagnostics = 100
	// maxNameLen is Slipway's bound of user and group names.
	maxNameLen = 100
)

// Kind is what a diagnostic is about.
type Kind string

// Diagnostic kinds. Lines of KindPattern, KindNegation and KindOwner are skipped; a line with
// a KindEmail owner applies (its other owners can approve).
const (
	KindPattern  Kind = "pattern"   // a pattern that cannot be read
	KindNegation Kind = "negation"  // a `!` pattern: not supported (nor by GitHub)
	KindOwner    Kind = "owner"     // an owner that is not @USER, @ORG/TEAM or an email, or too many
	KindEmail    Kind = "email"     // an email owner: not resolved to a user
	KindTooLarge Kind = "too_large" // the file is over MaxSize or MaxRules: ignored
	KindMore     Kind = "more"      // diagnostics over MaxDiagnostics were left out
)

// Diagnostic is one problem of a file: its line (1-based; 0 for the whole file), its kind and
// what is wrong and what to write instead.
type Diagnostic struct {
	Line    int
	Kind    Kind
	Message string
}

func (d Diagnostic) String() string {
	if d.Line == 0 {
		return d.Message
	}
	return fmt.Sprintf("line %d: %s", d.Line, d.Message)
}

// OwnerKind is what an owner names.
type OwnerKind uint8

// Owner kinds.
const (
	User  OwnerKind = iota + 1 // @NAME
	Team                       // @ORG/TEAM: the group TEAM
	Email                      // NAME@DOMAIN
)

// Owner is one owner of a line: Name is the user's name, the team's (group's) name, or the
// email address; Org is a team's organisation, as written (ignored).
type Owner struct {
	Kind OwnerKind
	Name string
	Org  string
}

// String is the owner as written in the file.
func (o Owner) String() string {
	switch o.Kind {
	case User:
		return "@" + o.Name
	case Team:
		return "@" + o.Org + "/" + o.Name
	}
	return o.Name
}

// Rule is one line that applies: its pattern as written (escapes and all) and its owners (none:
// the paths it matches have no owners).
type Rule struct {
	Line    int
	Pattern string
	Owners  []Owner
	pat     pattern
}

// File is a parsed file: its rules in file order and the diagnostics of the lines skipped.
type File struct {
	Rules       []Rule
	Diagnostics []Diagnostic
}

// Match returns the rule that decides path's owners, the last one whose pattern matches it,
// or nil when none does (the path has no owners). path is relative to the repository's root,
// as git names it ("docs/a.md").
func (f *File) Match(path string) *Rule {
	for i := len(f.Rules) - 1; i >= 0; i-- {
		if f.Rules[i].pat.match(path) {
			return &f.Rules[i]
		}
	}
	return nil
}

// Parse reads a CODEOWNERS file. It never fails: what it cannot read is in Diagnostics.
func Parse(data []byte) *File {
	f := &File{}
	if len(data) > MaxSize {
		f.Diagnostics = []Diagnostic{{Kind: KindTooLarge, Message: fmt.Sprintf("the file is %d bytes, over the limit of %d: it is ignored; split ownership into fewer lines", len(data), MaxSize)}}
		return f
	}
	d := diags{}
	text := strings.TrimPrefix(string(data), "\ufeff") // a byte order mark some editors write
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		words, ok := fields(strings.TrimSuffix(line, "\r"))
		if !ok {
			d.add(n, KindPattern, "the line ends with a lone backslash: escape a space or # with it (\\  or \\#); line skipped")
			continue
		}
		if len(words) == 0 {
			continue
		}
		r, ok := parseRule(&d, n, words)
		if !ok {
			continue
		}
		if len(f.Rules) == MaxRules {
			f.Rules = nil
			f.Diagnostics = []Diagnostic{{Kind: KindTooLarge, Message: fmt.Sprintf("the file has more than %d rules: it is ignored; use fewer, broader patterns", MaxRules)}}
			return f
		}
		f.Rules = append(f.Rules, r)
	}
	f.Diagnostics = d.done()
	return f
}

// parseRule reads one line's words: a pattern, then owners. A bad line is reported and not
// returned.
func parseRule(d *diags, n int, words []string) (Rule, bool) {
	raw := words[0]
	pat, kind, msg := compile(raw)
	if msg != "" {
		d.add(n, kind, fmt.Sprintf("pattern %s: %s; line skipped", quote(raw), msg))
		return Rule{}, false
	}
	owners := words[1:]
	if len(owners) > MaxOwners {
		d.add(n, KindOwner, fmt.Sprintf("%d owners, over the limit of %d: name a team instead; line skipped", len(owners), MaxOwners))
		return Rule{}, false
	}
	r := Rule{Line: n, Pattern: raw, pat: pat, Owners: make([]Owner, 0, len(owners))}
	var emails []string
	for _, w := range owners {
		o, ok := parseOwner(w)
		if !ok {
			d.add(n, KindOwner, fmt.Sprintf("owner %s is not @USER, @ORG/TEAM or an email address; line skipped", quote(w)))
			return Rule{}, false
		}
		if o.Kind == Email {
			emails = append(emails, o.Name)
		}
		r.Owners = append(r.Owners, o)
	}
	if len(emails) > 0 {
		d.add(n, KindEmail, fmt.Sprintf("owner %s: emails are not supported, nobody can approve as one: name the user as @USER", quote(strings.Join(emails, " "))))
	}
	return r, true
}

// fields splits a line into words at unescaped spaces and tabs, up to a word that starts with
// an unescaped #: the rest is a comment. A backslash stays in its word with the character it
// escapes (the pattern compiler reads it); a line ending in a lone backslash is not ok.
func fields(line string) (words []string, ok bool) {
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) || line[i] == '#' {
			return words, true
		}
		start := i
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			if line[i] == '\\' {
				if i+1 == len(line) {
					return nil, false
				}
				i++
			}
			i++
		}
		words = append(words, line[start:i])
	}
}

// parseOwner reads @USER, @ORG/TEAM or an email address.
func parseOwner(w string) (Owner, bool) {
	if name, ok := strings.CutPrefix(w, "@"); ok {
		if org, team, ok := strings.Cut(name, "/"); ok {
			return Owner{Kind: Team, Org: org, Name: team}, validName(org) && validName(team)
		}
		return Owner{Kind: User, Name: name}, validName(name)
	}
	local, domain, ok := strings.Cut(w, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || len(w) > 254 {
		return Owner{}, false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"\/*?[](),:;<>`, c) >= 0 || (c == '@' && i != len(local)) {
			return Owner{}, false
		}
	}
	return Owner{Kind: Email, Name: w}, true
}

// validName is Slipway's name syntax for users and groups: 1-100 of [A-Za-z0-9._-], not "." or
// "..". (GitHub's user names and team slugs fit it.)
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !nameByte(c) {
			return false
		}
	}
	return true
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// quote shows a word of the file in a diagnostic, shortened to 60 bytes.
func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// diags collects diagnostics up to MaxDiagnostics, then counts.
type diags struct {
	list    []Diagnostic
	dropped int
}

func (d *diags) add(line int, k Kind, msg string) {
	if len(d.list) == MaxDiagnostics {
		d.dropped++
		return
	}
	d.list = append(d.list, Diagnostic{Line: line, Kind: k, Message: msg})
}

func (d *diags) done() []Diagnostic {
	if d.dropped > 0 {
		d.list = append(d.list, Diagnostic{Kind: KindMore, Message: fmt.Sprintf("and %d more problems not shown", d.dropped)})
	}
	return d.list
}
