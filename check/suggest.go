package check

import (
	"fmt"

	typo "github.com/tcpflow-check/tcpflow-check/internal/suggest"
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s,
// when one is close enough to be a typo.
func suggest(s string, candidates []string) string {
	if best, ok := typo.Closest(s, candidates); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
