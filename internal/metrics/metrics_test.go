package metrics_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/internal/metrics"
)

// The README's table of metrics lists every metric, with its type and
// labels.
func TestTheREADMEListsEveryMetric(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metrics.All {
		row := fmt.Sprintf("| `%s` | %s | `%s` |", m.Name, m.Type, strings.Join(m.Labels, "`, `"))
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md has no row %q", row)
		}
	}
}
