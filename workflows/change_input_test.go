package workflows_test

import (
	"strings"
	"testing"

	"github.com/trailgate/trailgate/workflows"
)

// A wave's share runs from 1% to 100%: 100% is every organization at once,
// 0% and more than 100% are refused.
func TestWaveSharesRunFromOneToAHundredPercent(t *testing.T) {
	if sizes, err := workflows.PlanWaves([]string{"100%"}, 3); err != nil || len(sizes) != 1 || sizes[0] != 3 {
		t.Errorf("a wave of 100%% of 3 organizations: %v, %v; want one wave of 3", sizes, err)
	}
	for _, share := range []string{"0%", "101%"} {
		if _, err := workflows.PlanWaves([]string{share}, 3); err == nil || !strings.Contains(err.Error(), "a share is 1% to 100%") {
			t.Errorf("a wave of %s: %v; want it refused with the range", share, err)
		}
	}
}

// A reason may be up to 2000 characters long; a longer one is refused with
// the limit.
func TestReasonMayReachItsLimit(t *testing.T) {
	in := one(workflows.ActionEnable)
	in.Reason = strings.Repeat("r", 2000)
	if err := in.Validate(); err != nil {
		t.Errorf("a reason of 2000 characters is refused: %v", err)
	}
	in.Reason += "r"
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "the reason is 2001 characters long; keep it under 2000") {
		t.Errorf("a reason of 2001 characters: %v; want it refused with the limit", err)
	}
}
