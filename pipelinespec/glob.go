package pipelinespec

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The globs of triggers' filters (branches, tags, file paths), as CodePipeline's:
//
//	*      any run of characters but "/"
//	**     any run of characters, "/" included; "**/" also matches nothing, so "**/*.md"
//	       takes README.md as well as docs/a.md, and "a/**/b" takes a/b
//	?      one character but "/"
//	[abc]  one character of a class: ranges a-z, negation [!a] or [^a]
//	{a,b}  one of the alternatives
//	\x     the character x itself
//
// A pattern matches the whole name.

const (
	maxPatternLen   = 255
	maxAlternatives = 64
)

type tokenKind int

const (
	tokLiteral tokenKind = iota
	tokStar
	tokDoubleStar
	tokDoubleStarSlash
	tokAny
	tokClass
)

type token struct {
	kind   tokenKind
	r      rune
	negate bool
	ranges [][2]rune
}

// CheckPattern reports why pattern is not a valid glob (nil when it is).
func CheckPattern(pattern string) error {
	if pattern == "" {
		return errors.New("an empty pattern matches nothing")
	}
	if len(pattern) > maxPatternLen {
		return fmt.Errorf("a pattern is at most %d characters", maxPatternLen)
	}
	if !utf8.ValidString(pattern) {
		return errors.New("the pattern is not valid UTF-8")
	}
	alts, err := expandBraces(pattern)
	if err != nil {
		return err
	}
	for _, a := range alts {
		if _, err := compile(a); err != nil {
			return err
		}
	}
	return nil
}

// Match reports whether name matches pattern; an invalid pattern matches nothing.
func Match(pattern, name string) bool {
	alts, err := expandBraces(pattern)
	if err != nil {
		return false
	}
	for _, a := range alts {
		toks, err := compile(a)
		if err == nil && matchTokens(toks, []rune(name)) {
			return true
		}
	}
	return false
}

// escapePattern answers a pattern matching exactly s.
func escapePattern(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]{}\,`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// expandBraces expands {a,b} alternatives (nested ones too) into plain patterns.
func expandBraces(p string) ([]string, error) {
	open := -1
	depth := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			// braces inside a class are literal: skip to its end
			j := classEnd(p, i)
			if j < 0 {
				return nil, errors.New("a [ class has no closing ]")
			}
			i = j
		case '{':
			if depth == 0 {
				open = i
			}
			depth++
		case '}':
			depth--
			if depth < 0 {
				return nil, errors.New("a } has no opening {")
			}
			if depth == 0 {
				var out []string
				for _, alt := range splitAlternatives(p[open+1 : i]) {
					rest, err := expandBraces(alt + p[i+1:])
					if err != nil {
						return nil, err
					}
					for _, r := range rest {
						out = append(out, p[:open]+r)
						if len(out) > maxAlternatives {
							return nil, fmt.Errorf("the pattern's {a,b} alternatives make more than %d patterns", maxAlternatives)
						}
					}
				}
				return out, nil
			}
		}
	}
	if depth > 0 {
		return nil, errors.New("a { has no closing }")
	}
	return []string{p}, nil
}

// splitAlternatives splits the inside of {...} at its top-level commas.
func splitAlternatives(s string) []string {
	var out []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			if j := classEnd(s, i); j >= 0 {
				i = j
			}
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[last:i])
				last = i + 1
			}
		}
	}
	return append(out, s[last:])
}

// classEnd answers the index of the ] closing the class opened at p[i], or -1.
func classEnd(p string, i int) int {
	j := i + 1
	if j < len(p) && (p[j] == '!' || p[j] == '^') {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++ // a ] first is a member
	}
	for ; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case ']':
			return j
		}
	}
	return -1
}

// compile turns a pattern without braces into tokens.
func compile(p string) ([]token, error) {
	var toks []token
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\\':
			if i+1 >= len(rs) {
				return nil, errors.New("the pattern ends with a lone \\")
			}
			i++
			toks = append(toks, token{kind: tokLiteral, r: rs[i]})
		case '*':
			if i+1 < len(rs) && rs[i+1] == '*' {
				i++
				for i+1 < len(rs) && rs[i+1] == '*' {
					i++
				}
				if i+1 < len(rs) && rs[i+1] == '/' {
					i++
					toks = append(toks, token{kind: tokDoubleStarSlash})
				} else {
					toks = append(toks, token{kind: tokDoubleStar})
				}
				continue
			}
			toks = append(toks, token{kind: tokStar})
		case '?':
			toks = append(toks, token{kind: tokAny})
		case '[':
			t, next, err := compileClass(rs, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = next
		default:
			toks = append(toks, token{kind: tokLiteral, r: rs[i]})
		}
	}
	return toks, nil
}

// compileClass reads the class opening at rs[i]; next is the index of its ].
func compileClass(rs []rune, i int) (token, int, error) {
	t := token{kind: tokClass}
	j := i + 1
	if j < len(rs) && (rs[j] == '!' || rs[j] == '^') {
		t.negate = true
		j++
	}
	first := true
	for ; j < len(rs); j++ {
		c := rs[j]
		if c == ']' && !first {
			if len(t.ranges) == 0 {
				return t, 0, errors.New("a [] class is empty")
			}
			return t, j, nil
		}
		first = false
		if c == '\\' {
			if j+1 >= len(rs) {
				break
			}
			j++
			c = rs[j]
		}
		lo, hi := c, c
		if j+2 < len(rs) && rs[j+1] == '-' && rs[j+2] != ']' {
			hi = rs[j+2]
			if hi == '\\' && j+3 < len(rs) {
				hi = rs[j+3]
				j++
			}
			j += 2
			if hi < lo {
				return t, 0, fmt.Errorf("the range %c-%c of a [] class is backwards", lo, hi)
			}
		}
		t.ranges = append(t.ranges, [2]rune{lo, hi})
	}
	return t, 0, errors.New("a [ class has no closing ]")
}

func (t token) matches(r rune) bool {
	switch t.kind {
	case tokLiteral:
		return r == t.r
	case tokAny:
		return r != '/'
	case tokClass:
		if r == '/' {
			return false
		}
		in := false
		for _, rg := range t.ranges {
			if r >= rg[0] && r <= rg[1] {
				in = true
				break
			}
		}
		return in != t.negate
	}
	return false
}

// matchTokens runs in time proportional to len(toks) × len(name): next[j] says whether the
// tokens after the current one match name[j:], computed from the last token backwards.
func matchTokens(toks []token, name []rune) bool {
	n := len(name)
	next := make([]bool, n+1)
	cur := make([]bool, n+1)
	next[n] = true
	for i := len(toks) - 1; i >= 0; i-- {
		t := toks[i]
		switch t.kind {
		case tokStar:
			cur[n] = next[n]
			for j := n - 1; j >= 0; j-- {
				cur[j] = next[j] || (name[j] != '/' && cur[j+1])
			}
		case tokDoubleStar:
			cur[n] = next[n]
			for j := n - 1; j >= 0; j-- {
				cur[j] = next[j] || cur[j+1]
			}
		case tokDoubleStarSlash:
			// nothing, or any run ending in "/"
			slash := false
			cur[n] = next[n]
			for j := n - 1; j >= 0; j-- {
				slash = slash || (name[j] == '/' && next[j+1])
				cur[j] = next[j] || slash
			}
		default:
			cur[n] = false
			for j := n - 1; j >= 0; j-- {
				cur[j] = t.matches(name[j]) && next[j+1]
			}
		}
		next, cur = cur, next
	}
	return next[0]
}
