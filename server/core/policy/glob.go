package policy

import "unicode/utf8"

// match reports whether s matches pattern, where '*' matches any run of characters (none
// included, '/' and ':' included) and '?' matches exactly one character (one UTF-8 sequence;
// one byte of invalid UTF-8). With fold, ASCII letters compare case-insensitively (actions);
// without, exactly (resources, StringLike). It allocates nothing and runs in O(len(pattern) ×
// len(s)) at worst: a '*' is retried from one later position at a time, and only the last '*'
// seen is ever retried.
func match(pattern, s string, fold bool) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				if p == len(pattern)-1 {
					return true // a trailing '*' matches whatever is left
				}
				starP, starI = p, i
				p++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[i:])
				p++
				i += n
				continue
			default:
				if c == s[i] || (fold && lower(c) == lower(s[i])) {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry what follows it.
		_, n := utf8.DecodeRuneInString(s[starI:])
		starI += n
		p, i = starP+1, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// pattern is a compiled wildcard pattern: the literal text before its first wildcard is kept
// apart (and lower-cased, for actions), so most mismatches are found by comparing its last byte
// and then the prefix, before any wildcard is looked at.
type pattern struct {
	prefix string // the literal text before the first wildcard; all of it when exact
	lower  string // prefix with ASCII letters lower-cased
	rest   string // from the first wildcard on; "" when exact
	exact  bool
}

func compilePattern(s string) pattern {
	pt := pattern{prefix: s, exact: true}
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			pt = pattern{prefix: s[:i], rest: s[i:]}
			break
		}
	}
	b := []byte(pt.prefix)
	for i, c := range b {
		b[i] = lower(c)
	}
	pt.lower = string(b)
	return pt
}

// matches is match(original pattern, s, fold), faster.
func (pt *pattern) matches(s string, fold bool) bool {
	n := len(pt.prefix)
	if len(s) < n || (pt.exact && len(s) != n) {
		return false
	}
	if fold {
		if n > 0 && lower(s[n-1]) != pt.lower[n-1] {
			return false
		}
		for i := 0; i < n; i++ {
			if lower(s[i]) != pt.lower[i] {
				return false
			}
		}
	} else if n > 0 && (s[n-1] != pt.prefix[n-1] || s[:n] != pt.prefix) {
		return false
	}
	if pt.exact || pt.rest == "*" {
		return true
	}
	return match(pt.rest, s[n:], fold)
}
