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

// The tests of this file follow one organization's procedure through a
// change of one: the target reads, plans and acts; the change holds the
// gates.

func TestEnableAppliesPlanAfterTwoApprovalsAndVerifies(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(offState(), nil)
	h.env.OnActivity(acts.EnableTrustedAccess, mock.Anything, mock.Anything).Return(activities.Mutation{}, nil).Once()
	h.env.OnActivity(acts.EnsureServiceLinkedRole, mock.Anything, mock.Anything).Return(activities.Mutation{}, nil).Once()
	h.env.OnActivity(acts.EnsureTrailBucket, mock.Anything, mock.Anything).Return(activities.Mutation{}, nil).Once()
	h.env.OnActivity(acts.EnsureOrganizationTrail, mock.Anything, mock.Anything).Return(
		activities.TrailMutation{TrailState: workflows.TrailState{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}}, nil).Once()
	h.env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.MatchedBy(func(in activities.VerifyInput) bool {
		return len(in.TrailARNs) == 1 && in.TrailARNs[0] == trailARN
	})).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 2,
		Trails: []workflows.TrailState{{ARN: trailARN, IsLogging: true}}}, nil).Once()

	var selfApproval, duplicate, stranger, wrongPhase error
	h.at(time.Hour, func() {
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("dave")}, &selfApproval)
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("mallory")}, &stranger)
		h.update(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("carol")}, &wrongPhase)
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice"), Comment: "looks right"})
	})
	h.at(2*time.Hour, func() {
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("alice")}, &duplicate)
		p := h.progress()
		if p.Phase != workflows.PhaseAwaitingApproval || len(p.Waves[0].Approvals) != 1 || p.Awaiting == nil || p.Targets[0].Plan == nil || len(p.Targets[0].Plan.Steps) != 5 {
			t.Errorf("progress while waiting for the second approval: %+v", p)
		}
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	p, err := h.run(one(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if tg := p.Targets[0]; p.Phase != workflows.PhaseSucceeded || tg.Evidence == nil || !tg.Evidence.TrustedAccess {
		t.Fatalf("phase %s, evidence %+v", p.Phase, tg.Evidence)
	}
	wantIn(t, selfApproval, "two-person rule")
	wantIn(t, duplicate, "already approved")
	wantIn(t, stranger, "not an approver")
	wantIn(t, wrongPhase, "no organization awaits cleanup")
	if kinds := recordKinds(p.Record); !strings.Contains(kinds, "approved approved") || !strings.HasSuffix(kinds, "outcome wave outcome") {
		t.Errorf("record kinds: %s", kinds)
	}
	for _, e := range p.Record {
		if e.Kind == "approved" && (len(e.Identities) != 1 || !e.Identities[0].Claimed || !strings.Contains(e.Detail, "claimed, not verified")) {
			t.Errorf("a claimed approval is not marked as claimed: %+v", e)
		}
	}
	h.env.AssertExpectations(t)
}

func TestEnableWithNothingToDoSucceedsWithoutMutating(t *testing.T) {
	h := newHarness(t)
	on := offState()
	on.TrustedAccess, on.ServiceLinkedRole, on.BucketPolicyReady = true, true, true
	on.Trail = &workflows.TrailState{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(on, nil)
	h.counted("enable", acts.EnableTrustedAccess)
	p, err := h.run(one(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if tg := p.Targets[0]; p.Phase != workflows.PhaseNoChange || tg.Plan == nil || !tg.Plan.Empty() {
		t.Fatalf("phase %s plan %+v", p.Phase, tg.Plan)
	}
	if h.calls["enable"] != 0 {
		t.Errorf("nothing to do, yet trusted access was enabled %d time(s)", h.calls["enable"])
	}
}

func TestRejectionEndsTheChangeWithNothingChanged(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(offState(), nil)
	h.counted("enable", acts.EnableTrustedAccess)
	h.policy.Approvers = []string{"alice", "bob"}
	var stranger error
	h.at(time.Minute, func() {
		h.update(workflows.UpdateReject, workflows.Decision{Who: as("mallory")}, &stranger)
		h.mustUpdate(workflows.UpdateReject, workflows.Decision{Who: as("bob"), Comment: "not this week"})
	})
	p, err := h.run(one(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseRejected || p.Targets[0].Phase != workflows.PhaseRejected {
		t.Fatalf("phase %s, target %s", p.Phase, p.Targets[0].Phase)
	}
	wantIn(t, stranger, "may not reject")
	if h.calls["enable"] != 0 {
		t.Errorf("a rejected change enabled trusted access")
	}
}

func TestNonRetryablePreflightErrorFailsFastWithTheReason(t *testing.T) {
	h := newHarness(t)
	h.preflight = func() (activities.Identity, error) {
		return activities.Identity{}, temporal.NewNonRetryableApplicationError("preflight of organization acme-prod: the caller acts in account 222222222222, not in the management account", activities.ErrNotManagementAccount, nil)
	}
	p, err := h.run(one(workflows.ActionEnable))
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrChangeFailed {
		t.Fatalf("error %v", err)
	}
	if tg := p.Targets[0]; tg.Phase != workflows.PhaseFailed || !strings.Contains(tg.Error, "not in the management account") {
		t.Errorf("target %+v", tg)
	}
	if h.calls["preflight"] != 1 {
		t.Errorf("preflight ran %d times; a non-retryable error must not be retried", h.calls["preflight"])
	}
}

func TestThrottlingIsRetriedUntilItPasses(t *testing.T) {
	h := newHarness(t)
	st := offState()
	st.ServiceLinkedRole = true
	h.noTrail = true
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(st, nil)
	calls := 0
	h.env.OnActivity(acts.EnableTrustedAccess, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.OrgInput) (activities.Mutation, error) {
		calls++
		if calls < 3 {
			return activities.Mutation{}, temporal.NewApplicationError("enable trusted access: TooManyRequestsException: rate exceeded", "TooManyRequestsException")
		}
		return activities.Mutation{}, nil
	})
	h.env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.Anything).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 1}, nil)
	h.at(time.Minute, func() {
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	p, err := h.run(one(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded || calls != 3 {
		t.Fatalf("phase %s after %d calls", p.Phase, calls)
	}
}

// disableHarness answers reads of an organization with trusted access on
// and one organization trail, counting inventories.
func disableHarness(t *testing.T) (*harness, *int) {
	h := newHarness(t)
	on := offState()
	on.TrustedAccess, on.ServiceLinkedRole = true, true
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(on, nil)
	inventories := 0
	h.env.OnActivity(acts.TakeInventory, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.OrgInput) (workflows.Inventory, error) {
		inventories++
		return workflows.Inventory{OrganizationTrails: []workflows.TrailState{{ARN: trailARN, HomeRegion: "us-east-1", IsOrganizationTrail: true, IsLogging: true}}}, nil
	})
	return h, &inventories
}

func TestDisableWaitsForCleanupAndAcknowledgementThenApproval(t *testing.T) {
	h, inventories := disableHarness(t)
	h.env.OnActivity(acts.DisableTrustedAccess, mock.Anything, mock.Anything).Return(activities.Mutation{}, nil).Once()
	h.env.OnActivity(acts.VerifyDisabled, mock.Anything, mock.Anything).Return(workflows.Evidence{ServiceLinkedRole: true, Checks: 1,
		Notes: []string{"organization trails remain"}}, nil).Once()
	var early, notAdmin error
	h.at(time.Hour, func() {
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("alice")}, &early)
		h.update(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("alice")}, &notAdmin)
		h.mustUpdate(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("carol")})
	})
	h.at(2*time.Hour, func() {
		p := h.progress()
		if p.Phase != workflows.PhaseAwaitingCleanup || p.Awaiting == nil || !strings.Contains(p.Awaiting.What, "acknowledge-member-logging-stops") {
			t.Errorf("after a confirmation without acknowledgement: %s %+v", p.Phase, p.Awaiting)
		}
		h.mustUpdate(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("carol"), AcknowledgeMemberLoggingStops: true})
	})
	h.at(3*time.Hour, func() {
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	p, err := h.run(one(workflows.ActionDisable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("phase %s", p.Phase)
	}
	wantIn(t, early, "not awaiting approval")
	wantIn(t, notAdmin, "not a CloudTrail administrator")
	if *inventories != 4 {
		t.Errorf("inventory taken %d times, want 4 (before, after each confirmation, and right before acting)", *inventories)
	}
	h.env.AssertExpectations(t)
}

func TestDisableExpiresWhenNobodyConfirmsCleanup(t *testing.T) {
	h, _ := disableHarness(t)
	h.counted("disable", acts.DisableTrustedAccess)
	p, err := h.run(one(workflows.ActionDisable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseExpired || p.Targets[0].Phase != workflows.PhaseExpired {
		t.Fatalf("phase %s, target %s", p.Phase, p.Targets[0].Phase)
	}
	if h.calls["disable"] != 0 {
		t.Errorf("an expired disable disabled trusted access")
	}
	if len(h.reminders) != 6 || !strings.Contains(h.reminders[0].Awaiting, "cleanup confirmation") || h.reminders[0].Who[0] != "carol" {
		t.Errorf("%d reminders over a week, first %+v; want 6 to carol", len(h.reminders), h.reminders)
	}
}

func TestDisableWhenNotEnabledHasNothingToDo(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(offState(), nil)
	p, err := h.run(one(workflows.ActionDisable))
	if err != nil || p.Phase != workflows.PhaseNoChange {
		t.Fatalf("phase %s, err %v", p.Phase, err)
	}
}

func TestRollbackReenablesAndVerifiesTrailsLog(t *testing.T) {
	h := newHarness(t)
	st := offState()
	st.ServiceLinkedRole = true
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(st, nil)
	h.env.OnActivity(acts.TakeInventory, mock.Anything, mock.Anything).Return(workflows.Inventory{
		OrganizationTrails: []workflows.TrailState{{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}, {ARN: trailARN + "-stopped", IsOrganizationTrail: true}}}, nil)
	h.env.OnActivity(acts.EnableTrustedAccess, mock.Anything, mock.Anything).Return(activities.Mutation{}, nil).Once()
	h.env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.MatchedBy(func(in activities.VerifyInput) bool {
		return len(in.TrailARNs) == 1 && in.TrailARNs[0] == trailARN
	})).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Trails: []workflows.TrailState{{ARN: trailARN, IsLogging: true}}}, nil).Once()
	h.at(time.Minute, func() {
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	p, err := h.run(one(workflows.ActionRollback))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseRolledBack {
		t.Fatalf("phase %s", p.Phase)
	}
	h.env.AssertExpectations(t)
}

func TestInvalidInputIsRefusedBeforeAnyCall(t *testing.T) {
	h := newHarness(t)
	in := one(workflows.ActionEnable)
	in.ChangeID = "bad id/with slash"
	in.Organizations = []string{"acme-prod", "acme-prod", ""}
	in.Reason = strings.Repeat("x", 10000) + "\x1b[31m"
	_, err := h.run(in)
	wantIn(t, err, "change ID")
	wantIn(t, err, "named twice")
	wantIn(t, err, "an organization name is empty")
	wantIn(t, err, "the reason is 10005 characters long")
	wantIn(t, err, "control characters")
}
