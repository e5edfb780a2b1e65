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

// hasWildcard reports whether a pattern holds '*' or '?'.
func hasWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			return true
		}
	}
	return false
}
