package workflows_test

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/trailgate/trailgate/workflows"
)

// Reports that no target sent, as anyone who reaches Temporal can signal
// them to a change, are dropped: one that says a target ended, one of a
// phase no target reports, one of an organization not in the change, and
// one that is not a report at all. The gate keeps waiting for its
// approvers, and the change then runs as if none had come.
func TestReportsNoTargetSentAreDropped(t *testing.T) {
	h := newChangeHarness(t)
	h.at(time.Hour, func() {
		for _, r := range []any{
			workflows.TargetReport{Organization: "acme-prod", Phase: workflows.PhaseSucceeded},
			workflows.TargetReport{Organization: "acme-prod", Phase: workflows.PhaseFailed, Message: "forged"},
			workflows.TargetReport{Organization: "acme-prod", Phase: "bogus"},
			workflows.TargetReport{Organization: "initech", Phase: workflows.PhaseAwaitingApproval},
			converter.NewRawValue(&commonpb.Payload{
				Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
				Data:     []byte(`{"organization":["acme-prod"]`),
			}),
		} {
			h.env.SignalWorkflow(workflows.SignalTargetReport, r)
		}
	})
	h.at(2*time.Hour, func() {
		p := h.progress()
		if p.Phase != workflows.PhaseAwaitingApproval || p.Targets[0].Phase != workflows.PhaseAwaitingApproval || p.Targets[0].Message == "forged" || len(h.enabled) != 0 {
			t.Errorf("after the reports no target sent: change %s, acme-prod %s (%q), enabled %v", p.Phase, p.Targets[0].Phase, p.Targets[0].Message, h.enabled)
		}
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	p, err := h.run(one(workflows.ActionEnable))
	if err != nil || p.Phase != workflows.PhaseSucceeded || len(h.enabled) != 1 {
		t.Fatalf("change ended %s (%v), enabled %v", p.Phase, err, h.enabled)
	}
}
