package policy

import (
	"strings"
)

// SuggestKey is the condition key a misspelt name most likely meant ("mfa:age" -> "mfa:Age"),
// or "" when none is close: the same but for case, or one or two edits away.
func SuggestKey(name string) string { return nearest(name, KeyNames()) }

// suggestOperator is suggestKey for condition operators.
func suggestOperator(name string) string {
	names := []string{"Null"}
	for op := range operators {
		names = append(names, op, op+"IfExists")
	}
	return nearest(name, names)
}

// nearest is the candidate closest to name ignoring case, within two edits; ties go to the
// first in sorted order so messages do not change between runs.
func nearest(name string, candidates []string) string {
	best, bestDist := "", 3
	lower := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(lower, strings.ToLower(c), 3)
		if d < bestDist || d == bestDist && d < 3 && c < best {
			best, bestDist = c, d
		}
	}
	if bestDist > 2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is at least limit
// (names are short; the limit keeps a long one cheap).
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
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
	return min(prev[len(b)], limit)
}

// unknownName is the message for a name that is not one of known: a suggestion when one is
// close, else the whole list.
func unknownName(what, name, suggestion string, known []string) string {
	if suggestion != "" {
		return "unknown " + what + " " + quote(name) + ": did you mean " + suggestion + "?"
	}
	if len(known) == 0 {
		return "unknown " + what + " " + quote(name)
	}
	return "unknown " + what + " " + quote(name) + " (known: " + strings.Join(known, ", ") + ")"
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
