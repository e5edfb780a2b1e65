package buildspec

import (
	"errors"
	"path"
	"strings"
)

// The globs of artifacts, reports, cache and exclude-paths: slash-separated
// patterns where "*", "?" and "[...]" match within one path element (as
// path.Match) and an element "**" matches any number of elements, none
// included. "**/*" is every file below; "dir/*" the files directly in dir.

// ErrBadPattern is returned by CheckPattern for a pattern that can never
// match.
var ErrBadPattern = errors.New("invalid glob pattern")

// CheckPattern reports whether pattern is a valid glob.
func CheckPattern(pattern string) error {
	if pattern == "" {
		return ErrBadPattern
	}
	for _, el := range strings.Split(pattern, "/") {
		if el == "**" {
			continue
		}
		if _, err := path.Match(el, ""); err != nil {
			return ErrBadPattern
		}
	}
	return nil
}

// Match reports whether the slash-separated relative path name matches
// pattern. Leading "./" and duplicate slashes are ignored in both. It runs
// in time proportional to the product of their element counts.
func Match(pattern, name string) bool {
	p := splitPath(pattern)
	n := splitPath(name)
	// ok[j] says whether p[i:] matches n[j:], computed from the last
	// pattern element backwards.
	next := make([]bool, len(n)+1)
	next[len(n)] = true
	cur := make([]bool, len(n)+1)
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == "**" {
			cur[len(n)] = next[len(n)]
			for j := len(n) - 1; j >= 0; j-- {
				cur[j] = next[j] || cur[j+1]
			}
		} else {
			cur[len(n)] = false
			for j := len(n) - 1; j >= 0; j-- {
				ok, err := path.Match(p[i], n[j])
				cur[j] = err == nil && ok && next[j+1]
			}
		}
		next, cur = cur, next
	}
	return next[0]
}

// MatchPrefix reports whether some path below name could match pattern:
// whether a walk must enter directory name. It lets a walk skip
// directories no pattern can reach.
func MatchPrefix(pattern, name string) bool {
	p := splitPath(pattern)
	n := splitPath(name)
	for i, el := range n {
		if i >= len(p) {
			return false
		}
		if p[i] == "**" {
			return true
		}
		if ok, err := path.Match(p[i], el); err != nil || !ok {
			return false
		}
	}
	return true
}

// HasMeta reports whether pattern has glob characters.
func HasMeta(pattern string) bool { return strings.ContainsAny(pattern, `*?[\`) }

func splitPath(s string) []string {
	var out []string
	for _, el := range strings.Split(s, "/") {
		if el == "" || el == "." {
			continue
		}
		out = append(out, el)
	}
	return out
}

// escapes reports whether a relative pattern or path is absolute or has a
// ".." element, so that it could name something outside its root.
func escapes(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return true
		}
	}
	return false
}
