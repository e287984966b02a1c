package brief_test

import (
	"fmt"
	"testing"

	"github.com/trailgate/trailgate/internal/brief"
)

func TestList(t *testing.T) {
	many := make([]string, 1000)
	for i := range many {
		many[i] = fmt.Sprintf("org-%04d", i+1)
	}
	for _, c := range []struct {
		items []string
		shown int
		want  string
	}{
		{nil, 5, ""},
		{[]string{"a", "b", "c"}, 3, "a, b, c"},
		{[]string{"a", "b", "c", "d"}, 3, "a, b, …, d (4 in all)"},
		{many, 4, "org-0001, org-0002, org-0003, …, org-1000 (1,000 in all)"},
	} {
		if got := brief.List(c.items, c.shown); got != c.want {
			t.Errorf("List(%d items, %d) = %q, want %q", len(c.items), c.shown, got, c.want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := brief.Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
