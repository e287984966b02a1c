package benchscale_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/internal/benchscale"
)

// Raw Temporal runs the shape it is given, without and with trailgate's
// protocol, as its children's histories show: the rows compare trailgate
// with what they say they ran.
func TestRawTemporalRunsTheShapeItIsGiven(t *testing.T) {
	shape := benchscale.Shape{Activities: 3, LocalActivities: 1, VersionMarkers: 1, Upserts: 6, SignalsSent: 1, SignalsReceived: 1}
	for _, tc := range []struct {
		protocol bool
		name     string
		want     string
	}{
		{false, "raw-temporal", "3 activities, 1 local"},
		{true, "raw-protocol", "3 activities, 1 local, 1 version markers, 6 upserts, 1 signals sent, 1 received"},
	} {
		row, err := benchscale.RunRaw(context.Background(), 3, shape, tc.protocol)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// How many events a history takes depends on which arrive while a
		// workflow task runs; the rest does not.
		ran, events := row.Note, ""
		if i := strings.LastIndex(row.Note, ", "); i >= 0 {
			ran, events = row.Note[:i], row.Note[i+2:]
		}
		if row.Name != tc.name || ran != tc.want || !strings.HasSuffix(events, " events per organization") || len(row.PerOrg) != 3 || row.Wall <= 0 {
			t.Errorf("%s ran as %s: %q, %d children ended, in %s; want %q", tc.name, row.Name, row.Note, len(row.PerOrg), row.Wall, tc.want)
		}
		if strings.Contains(row.Note, "0 activities") {
			t.Errorf("%s ran nothing: %s", tc.name, row.Note)
		}
	}
}
