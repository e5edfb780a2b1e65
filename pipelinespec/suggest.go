package pipelinespec

import (
	"strconv"

	suggestpkg "github.com/slipwayhq/slipway/pkg/suggest"
)

// didYouMean formats a suggestion suffix ("; did you mean "X"?") when a candidate is close
// enough to word to be a likely typo, or "" when none is.
func didYouMean(word string, candidates []string) string {
	if len(candidates) > 100 {
		return "" // a definition this large is refused by its bounds anyway
	}
	best, dist := suggestpkg.Closest(word, candidates)
	if dist < 0 || dist > max(len(word)/3, 2) {
		return ""
	}
	return "; did you mean " + quote(best) + "?"
}

func quote(s string) string { return strconv.Quote(s) }
