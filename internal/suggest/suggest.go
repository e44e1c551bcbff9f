// Package suggest finds the name a typo was meant to be, for error
// messages that say "did you mean ...?".
package suggest

import (
	"strconv"
	"strings"
)

// Hint returns `; did you mean "x"?` for the candidate nearest to v, when
// one is near enough to be a typo of it, and "" otherwise.
func Hint(v string, candidates []string) string {
	if s, ok := Nearest(v, candidates); ok {
		return "; did you mean " + strconv.Quote(s) + "?"
	}
	return ""
}

// Nearest returns the candidate with the smallest edit distance to v
// (ignoring case), if that distance is small for the length of the words:
// at most 1 for short words, at most a third of the shorter word's length
// (and 3) for longer ones. An exact match is not a suggestion.
func Nearest(v string, candidates []string) (string, bool) {
	best, bestD := "", -1
	lv := strings.ToLower(v)
	for _, c := range candidates {
		if c == v {
			return "", false
		}
		d := editDistance(lv, strings.ToLower(c))
		limit := min(len([]rune(lv)), len([]rune(c))) / 3
		limit = max(1, min(limit, 3))
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best, bestD >= 0
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent runes
// each cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		// Names are short; a long value is no typo of one.
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
