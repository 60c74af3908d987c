// Package words holds the small text rules the command line and its helpers
// share when they say counts and errors to a person.
package words

import (
	"strconv"
	"strings"
)

// Plural says n of word: "1 node", "3 nodes", "2 copies".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return strconv.Itoa(n) + " " + strings.TrimSuffix(word, "y") + "ies"
	}
	return strconv.Itoa(n) + " " + word + "s"
}
