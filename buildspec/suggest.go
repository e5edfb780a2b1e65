package buildspec

import suggestpkg "github.com/slipwayhq/slipway/pkg/suggest"

// suggest returns the candidate closest to word when it is close enough to
// be a likely typo (case-insensitive edit distance at most a third of the
// word's length, minimum 2), or "" when none is.
func suggest(word string, candidates []string) string {
	best, dist := suggestpkg.Closest(word, candidates)
	if dist < 0 || dist > max(len(word)/3, 2) {
		return ""
	}
	return best
}

// didYouMean formats a suggestion suffix, or "" without a suggestion.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return "; did you mean " + quote(s) + "?"
	}
	return ""
}
