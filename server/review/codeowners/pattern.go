package codeowners

import (
	"strings"
	"unicode/utf8"
)

// Patterns are gitignore's, matched against file paths:
//
//   - A leading `/` anchors the pattern at the repository's root. A pattern with a `/` at its
//     start or in its middle is anchored too; one without (`*.go`, `logs`, `apps/`) matches at
//     any depth.
//   - A pattern that matches a directory matches everything under it; a trailing `/` matches
//     directories only (`apps/`: every file under a directory named apps).
//   - `*` matches any characters but `/`, `?` one character but `/`, `[a-z]` `[!a-z]` `[^a-z]`
//     one character of (or not of) a set; `\x` is x.
//   - `**` as a whole segment matches any number of directories: `**/logs` (logs anywhere),
//     `a/**/b` (b at any depth under a), `a/**` (everything under a). Elsewhere `**` is `*`.
//   - A last segment that is `*` alone matches files only: `docs/*` is the files directly in
//     docs, not those in its subdirectories (GitHub's documented example; gitignore would
//     match the subdirectories too).
//   - `!` (negation) is not supported: GitHub does not support it either.
//
// Matching is case-sensitive, as GitHub's is.

// maxSegments bounds a pattern's segments (the matcher's state is a 64-bit set).
const maxSegments = 63

// pattern is a compiled pattern: segments matched against a path's segments. A path matches
// when the segments match all of it (a file; not when dirOnly) or a leading part of it (a
// directory: everything under it; not when fileOnly). all matches every path.
type pattern struct {
	segs     []segment
	dirOnly  bool
	fileOnly bool
	all      bool
	// need is text every matching path holds (the longest literal run of a segment): a path
	// without it is refused at the cost of one substring search.
	need string
}

// segment is one segment of a pattern: ** (any number of path segments), a literal, or a glob.
type segment struct {
	dstar   bool
	literal string
	glob    []token // nil: literal
}

type tokenKind uint8

const (
	tLit   tokenKind = iota // lit
	tAny                    // ?
	tStar                   // *
	tClass                  // [...]
)

// token is one token of a glob: a literal character (lit: its bytes as written, without its
// escape, compared byte for byte), ?, * or a set.
type token struct {
	kind   tokenKind
	lit    string
	neg    bool
	ranges []runeRange
}

type runeRange struct{ lo, hi rune }

// compile reads a pattern as written in the file (escapes still in it). A pattern it cannot read
// has a kind and a message saying why.
func compile(raw string) (pattern, Kind, string) {
	if strings.HasPrefix(raw, "!") {
		return pattern{}, KindNegation, "negation (!) is not supported, as on GitHub: write the paths that have owners, and a later line with the pattern and no owners for paths that have none"
	}
	s := raw
	anchored := strings.HasPrefix(s, "/")
	s = strings.TrimPrefix(s, "/")
	dirOnly := strings.HasSuffix(s, "/")
	if dirOnly {
		s = strings.TrimSuffix(s, "/")
	}
	if s == "" {
		return pattern{}, KindPattern, "it matches no path: write * for every file"
	}
	parts := strings.Split(s, "/")
	if len(parts) > 1 {
		anchored = true
	}
	var p pattern
	if !anchored {
		p.segs = append(p.segs, segment{dstar: true})
	}
	for _, part := range parts {
		switch part {
		case "":
			return pattern{}, KindPattern, "it has an empty segment (//)"
		case ".", "..":
			return pattern{}, KindPattern, "it has a . or .. segment: git's paths have none; write the path from the repository's root"
		case "**":
			if n := len(p.segs); n > 0 && p.segs[n-1].dstar {
				continue // a/**/**/b is a/**/b
			}
			p.segs = append(p.segs, segment{dstar: true})
			continue
		}
		seg, msg := compileSegment(part)
		if msg != "" {
			return pattern{}, KindPattern, msg
		}
		p.segs = append(p.segs, seg)
	}
	// A trailing ** is everything under what comes before it: the directory itself, dirOnly.
	for n := len(p.segs); n > 0 && p.segs[n-1].dstar; n = len(p.segs) {
		p.segs, dirOnly = p.segs[:n-1], true
	}
	if len(p.segs) > maxSegments {
		return pattern{}, KindPattern, "it has too many segments"
	}
	p.dirOnly = dirOnly
	if n := len(p.segs); n > 0 && !dirOnly && len(p.segs[n-1].glob) == 1 && p.segs[n-1].glob[0].kind == tStar {
		p.fileOnly = true
	}
	p.all = len(p.segs) == 0 // ** or /**: everything under the root
	for _, s := range p.segs {
		if run := s.longestLiteral(); len(run) > len(p.need) {
			p.need = run
		}
	}
	return p, "", ""
}

// longestLiteral is the longest run of literal characters of the segment, which any path
// segment it matches holds.
func (s *segment) longestLiteral() string {
	if s.glob == nil {
		return s.literal
	}
	var best string
	var run strings.Builder
	for _, t := range s.glob {
		if t.kind == tLit {
			run.WriteString(t.lit)
			continue
		}
		if run.Len() > len(best) {
			best = run.String()
		}
		run.Reset()
	}
	if run.Len() > len(best) {
		best = run.String()
	}
	return best
}

// compileSegment reads one segment that is not **.
func compileSegment(s string) (segment, string) {
	var toks []token
	literal := true
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\\':
			if i+1 == len(s) {
				return segment{}, "it ends a segment with a lone backslash"
			}
			_, w := utf8.DecodeRuneInString(s[i+1:])
			toks = append(toks, token{kind: tLit, lit: s[i+1 : i+1+w]})
			i += 1 + w
		case '?':
			toks, literal = append(toks, token{kind: tAny}), false
			i++
		case '*':
			for i < len(s) && s[i] == '*' {
				i++ // ** inside a segment is *
			}
			toks, literal = append(toks, token{kind: tStar}), false
		case '[':
			t, n, msg := compileClass(s[i:])
			if msg != "" {
				return segment{}, msg
			}
			toks, literal = append(toks, t), false
			i += n
		default:
			_, w := utf8.DecodeRuneInString(s[i:])
			toks = append(toks, token{kind: tLit, lit: s[i : i+w]})
			i += w
		}
	}
	if literal {
		var b strings.Builder
		for _, t := range toks {
			b.WriteString(t.lit)
		}
		return segment{literal: b.String()}, ""
	}
	return segment{glob: toks}, ""
}

// compileClass reads a [...] set at the start of s and how many bytes it takes: a leading ! or
// ^ negates it, a ] first is a member, a-z is a range, \x is x.
func compileClass(s string) (token, int, string) {
	t := token{kind: tClass}
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		t.neg = true
		i++
	}
	first := true
	for {
		if i >= len(s) {
			return token{}, 0, "it has a [ without its ]: escape a literal [ as \\["
		}
		if s[i] == ']' && !first {
			return t, i + 1, ""
		}
		first = false
		lo, w := classRune(s[i:])
		if w == 0 {
			return token{}, 0, "it ends a [ set with a lone backslash"
		}
		i += w
		hi := lo
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			if hi, w = classRune(s[i+1:]); w == 0 {
				return token{}, 0, "it ends a [ set with a lone backslash"
			}
			i += 1 + w
			if hi < lo {
				return token{}, 0, "it has a range [" + string(lo) + "-" + string(hi) + "] from a higher character to a lower"
			}
		}
		t.ranges = append(t.ranges, runeRange{lo, hi})
	}
}

// classRune reads one member of a set (\x is x) and how many bytes it takes; 0: a lone backslash.
func classRune(s string) (rune, int) {
	if s[0] == '\\' {
		if len(s) == 1 {
			return 0, 0
		}
		r, w := utf8.DecodeRuneInString(s[1:])
		return r, 1 + w
	}
	return utf8.DecodeRuneInString(s)
}

// match says whether path (a/b/c.go) matches: the pattern's segments match all of it (unless
// dirOnly) or a leading part of it (a directory). The state is the set of pattern prefixes that
// match the path's segments read so far (bit i: segs[:i]), so the cost is segments × pattern
// segments, whatever the **s.
func (p *pattern) match(path string) bool {
	if p.all {
		return path != ""
	}
	return strings.Contains(path, p.need) && p.matchSegments(path)
}

// matchSegments is match without the need filter.
func (p *pattern) matchSegments(path string) bool {
	n := len(p.segs)
	full := uint64(1) << n
	cur := p.closure(1)
	for rest := path; ; {
		seg, after, more := strings.Cut(rest, "/")
		var next uint64
		for i := 0; i < n; i++ {
			if cur&(1<<i) == 0 {
				continue
			}
			switch s := &p.segs[i]; {
			case s.dstar:
				next |= 1 << i
			case s.glob == nil && s.literal == seg, s.glob != nil && globMatch(s.glob, seg):
				next |= 1 << (i + 1)
			}
		}
		cur = p.closure(next)
		if cur == 0 {
			return false
		}
		if cur&full != 0 && (more && !p.fileOnly || !more && !p.dirOnly) {
			return true
		}
		if !more {
			return false
		}
		rest = after
	}
}

// closure adds to set the prefixes reached by letting each ** match no segment.
func (p *pattern) closure(set uint64) uint64 {
	for i, s := range p.segs {
		if s.dstar && set&(1<<i) != 0 {
			set |= 1 << (i + 1)
		}
	}
	return set
}

// globMatch matches one path segment against a glob: * backtracks to the last star only, which
// is enough when * is the only token matching more than one character.
func globMatch(toks []token, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) || ti < len(toks) {
		if ti < len(toks) {
			t := &toks[ti]
			if t.kind == tStar {
				starT, starS = ti, si
				ti++
				continue
			}
			if t.kind == tLit && strings.HasPrefix(s[si:], t.lit) {
				ti++
				si += len(t.lit)
				continue
			}
			if t.kind != tLit && si < len(s) {
				r, w := utf8.DecodeRuneInString(s[si:])
				if t.matches(r) {
					ti++
					si += w
					continue
				}
			}
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		ti, si = starT+1, starS
	}
	return true
}

func (t *token) matches(r rune) bool {
	switch t.kind {
	case tAny:
		return true
	case tClass:
		in := false
		for _, rg := range t.ranges {
			if r >= rg.lo && r <= rg.hi {
				in = true
				break
			}
		}
		return in != t.neg
	}
	return false
}
