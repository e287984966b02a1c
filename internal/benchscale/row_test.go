package benchscale

import (
	"strings"
	"testing"
	"time"
)

func TestTheTableComparesOnlyLikeWithLike(t *testing.T) {
	var b strings.Builder
	WriteTable(&b, []Row{
		{Name: "trailgate", N: 10, Wall: 2 * time.Second},
		{Name: "trailgate", N: 10, Trail: true, Wall: 4 * time.Second, PeakRSS: 300 << 20},
		{Name: "raw-temporal", N: 10, Wall: 2 * time.Second},
		{Name: "raw-protocol", N: 10, Wall: 3 * time.Second},
		{Name: "aws-cli", N: 10, Wall: 80 * time.Second, Scaled: true},
	})
	out := b.String()
	if strings.Contains(out, "trail=false:") {
		t.Errorf("the change without the trail is compared with references that run the trail:\n%s", out)
	}
	for _, want := range []string{
		"n=10 trail=true: 0.50x of raw Temporal's speed (0.75x of raw Temporal running trailgate's protocol), 20.00x the sequential AWS CLI's",
		"bench-scale: n=10 wall_s=4.0 rss_mib=300 vs_raw_temporal=0.50 vs_aws_cli=20.0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}
