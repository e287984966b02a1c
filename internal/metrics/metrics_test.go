package metrics_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/internal/metrics"
)

// documented is a row of the README's table of metrics: the name, then
// its type and labels as written.
var documented = regexp.MustCompile("(?m)^\\| `(trailgate_[a-z_]+)` \\| (.*) \\|.*\\|$")

// The README's table of metrics lists every metric trailgate records, with
// its type and labels, and no other.
func TestTheREADMEListsEveryMetric(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, row := range documented.FindAllStringSubmatch(string(readme), -1) {
		rows[row[1]] = row[2]
	}
	for _, m := range metrics.All {
		want := fmt.Sprintf("%s | `%s`", m.Type, strings.Join(m.Labels, "`, `"))
		if got, ok := rows[m.Name]; !ok || got != want {
			t.Errorf("README.md lists %s as %q, want %q", m.Name, got, want)
		}
		delete(rows, m.Name)
	}
	for name := range rows {
		t.Errorf("README.md lists %s, which trailgate does not record", name)
	}
}
