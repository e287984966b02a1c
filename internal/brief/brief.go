// Package brief says long lists in a line: a change over a thousand
// organizations names a few and counts the rest.
package brief

import (
	"fmt"
	"strings"
)

// List joins items with ", " when there are at most shown of them;
// otherwise it names the first shown-1 and the last, and says how many
// there are: "a, b, c, …, z (1,000 in all)".
func List(items []string, shown int) string {
	if len(items) <= shown || shown < 2 {
		return strings.Join(items, ", ")
	}
	head := items[:shown-1]
	return fmt.Sprintf("%s, …, %s (%s in all)", strings.Join(head, ", "), items[len(items)-1], Count(len(items)))
}

// Count writes n with thousands separated by commas, as people read it.
func Count(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + Count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
