// Package suggest finds the likely intended word for a typo ("did you mean ..."), for messages
// about user input: AppSpec keys and events, CLI verbs.
package suggest

import "strings"

// Closest returns the candidate with the smallest case-insensitive edit distance to word, and
// that distance; ("", -1) when there are no candidates.
func Closest(word string, candidates []string) (string, int) {
	best, bestDist := "", -1
	lw := strings.ToLower(word)
	for _, c := range candidates {
		if d := Distance(lw, strings.ToLower(c)); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, bestDist
}

// Distance is the Levenshtein distance between a and b, by bytes. Strings longer than 256 bytes
// are never typos of short names: their distance is len(a)+len(b), without quadratic work.
func Distance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return len(a) + len(b)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
