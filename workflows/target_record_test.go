package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

// target is what one organization's workflow of change chg-1 says of
// itself, as status and the change record read it.
func (h *harness) target(org string) workflows.TargetProgress {
	var tp workflows.TargetProgress
	v, err := h.env.QueryWorkflowByID(workflows.TargetWorkflowID("chg-1", org), workflows.QueryProgress)
	if err == nil {
		err = v.Get(&tp)
	}
	if err != nil {
		h.t.Errorf("query %s's workflow: %v", org, err)
	}
	return tp
}

// entry is the detail of a target's first record entry of a kind.
func entry(tp workflows.TargetProgress, kind workflows.RecordKind) string {
	for _, e := range tp.Record {
		if e.Kind == kind {
			return e.Detail
		}
	}
	return ""
}

// An organization's workflow shows what it waits for while at its gate and
// nothing once it has passed or ended there; its record says why the change
// was requested and who approved it, each once.
func TestOrganizationShowsItsGateReasonAndApprovers(t *testing.T) {
	t.Run("approved", func(t *testing.T) {
		h := newChangeHarness(t)
		in := one(workflows.ActionEnable)
		in.Reason = "org-wide audit logging"
		h.at(30*time.Minute, func() {
			if aw := h.target("acme-prod").Awaiting; aw == nil || !strings.HasPrefix(aw.What, "release by change chg-1") {
				t.Errorf("at its gate acme-prod awaits %+v; want its release by the change", aw)
			}
		})
		h.approveAt(time.Hour, "alice", "bob")
		if p, err := h.run(in); err != nil || p.Phase != workflows.PhaseSucceeded {
			t.Fatalf("phase %s, err %v", p.Phase, err)
		}
		tp := h.target("acme-prod")
		if tp.Awaiting != nil {
			t.Errorf("after its change, acme-prod still awaits %+v", tp.Awaiting)
		}
		if len(tp.Approvals) != 2 || tp.Approvals[0].By != "alice" || tp.Approvals[1].By != "bob" {
			t.Errorf("acme-prod was approved by %+v; want alice and bob", tp.Approvals)
		}
		if got := entry(tp, "requested"); !strings.HasSuffix(got, "requested enable of trusted access for CloudTrail: org-wide audit logging") {
			t.Errorf("acme-prod's record of the request: %q; want the reason", got)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		h := newChangeHarness(t)
		h.at(time.Hour, func() {
			h.mustUpdate(workflows.UpdateReject, workflows.Decision{Who: as("alice"), Comment: "not this week"})
		})
		if p, _ := h.run(one(workflows.ActionEnable)); p.Phase != workflows.PhaseRejected {
			t.Fatalf("phase %s; want rejected", p.Phase)
		}
		if tp := h.target("acme-prod"); tp.Phase != workflows.PhaseRejected || tp.Awaiting != nil {
			t.Errorf("rejected, acme-prod is %s awaiting %+v; want nothing awaited", tp.Phase, tp.Awaiting)
		}
	})
}

// A refusal that is never retried fails the organization with the refusal
// as it is, not as retries that ran out.
func TestARefusalIsReportedAsItIs(t *testing.T) {
	h := newHarness(t)
	h.preflight = func() (activities.Identity, error) {
		return activities.Identity{}, temporal.NewNonRetryableApplicationError("preflight of organization acme-prod: the caller acts in account 222222222222", activities.ErrNotManagementAccount, nil)
	}
	p, err := h.run(one(workflows.ActionEnable))
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrChangeFailed {
		t.Fatalf("error %v; want the change failed", err)
	}
	if tg := p.Targets[0]; tg.Phase != workflows.PhaseFailed || strings.Contains(tg.Error, "gave up") || !strings.Contains(tg.Error, "the caller acts in account 222222222222") {
		t.Errorf("a refused preflight ended %s with %q; want the refusal as it is", tg.Phase, tg.Error)
	}
}

// Verification that does not see the change yet reads AWS again, backing
// off from five seconds, three times in all.
func TestVerificationReadsAgainGently(t *testing.T) {
	h := newHarness(t)
	st := offState()
	st.ServiceLinkedRole = true
	h.noTrail = true
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(st, nil)
	h.env.OnActivity(acts.EnableTrustedAccess, mock.Anything, mock.Anything).Return(activities.Mutation{}, nil)
	var reads []time.Time
	h.env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.Anything).Return(func(context.Context, activities.VerifyInput) (workflows.Evidence, error) {
		reads = append(reads, h.env.Now())
		if len(reads) < 3 {
			return workflows.Evidence{}, temporal.NewApplicationError("trusted access is not visible yet", activities.ErrNotYetVisible)
		}
		return workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 1}, nil
	})
	h.at(time.Minute, func() {
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	if p, err := h.run(one(workflows.ActionEnable)); err != nil || p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("phase %s, err %v; want verified on the third read", p.Phase, err)
	}
	if len(reads) != 3 || reads[1].Sub(reads[0]) < 5*time.Second {
		t.Errorf("verification read AWS at %v; want three reads, the second at least 5s after the first", reads)
	}
}

// The record of a disable's inventory says what depends on trusted access,
// and only that: trails (with the tool that seems to own them, and that
// they stop for member accounts), organization event data stores, and
// CloudTrail's delegated administrators.
func TestInventoryRecordSaysWhatDependsOnTrustedAccess(t *testing.T) {
	const store = "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/org-store"
	for _, tc := range []struct {
		name    string
		inv     workflows.Inventory
		says    []string
		saysNot []string
	}{
		{name: "trails and administrators",
			inv: workflows.Inventory{
				OrganizationTrails: []workflows.TrailState{
					{ARN: trailARN, HomeRegion: "us-east-1", IsOrganizationTrail: true, IsLogging: true, OwnerHint: "AWS Control Tower"},
					{ARN: trailARN + "-2", HomeRegion: "eu-west-1", IsOrganizationTrail: true}},
				DelegatedAdministrators: []string{"222222222222"}},
			says: []string{"organization trail " + trailARN + " (home us-east-1, logging true, looks owned by AWS Control Tower)",
				"organization trail " + trailARN + "-2 (home eu-west-1, logging false)",
				"disabling stops these trails for member accounts", "CloudTrail delegated administrators 222222222222"},
			saysNot: []string{"event data store"}},
		{name: "an event data store only",
			inv:     workflows.Inventory{EventDataStores: []string{store}},
			says:    []string{"organization event data store " + store},
			saysNot: []string{"organization trail", "stops these trails", "delegated administrators", "looks owned by"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			on := offState()
			on.TrustedAccess, on.ServiceLinkedRole = true, true
			h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(on, nil)
			h.env.OnActivity(acts.TakeInventory, mock.Anything, mock.Anything).Return(tc.inv, nil)
			var recorded string
			h.at(time.Hour, func() {
				recorded = entry(h.target("acme-prod"), "inventory")
				h.mustUpdate(workflows.UpdateCancel, workflows.Control{Who: as("dave")})
			})
			h.run(one(workflows.ActionDisable))
			for _, s := range tc.says {
				if !strings.Contains(recorded, s) {
					t.Errorf("the inventory is recorded as %q; want it to say %q", recorded, s)
				}
			}
			for _, s := range tc.saysNot {
				if strings.Contains(recorded, s) {
					t.Errorf("the inventory is recorded as %q; it says %q of nothing there", recorded, s)
				}
			}
		})
	}
}
