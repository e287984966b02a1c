package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

// The tests of this file follow one organization's procedure through a
// change of one: the target reads, plans and acts; the change holds the
// gates.

func TestEnableAppliesPlanAfterTwoApprovalsAndVerifies(t *testing.T) {
	h := newHarness(t)
	h.on(acts.ReadState).Return(offState(), nil)
	h.on(acts.EnableTrustedAccess).Return(activities.Mutation{}, nil).Once()
	h.on(acts.EnsureServiceLinkedRole).Return(activities.Mutation{}, nil).Once()
	h.on(acts.EnsureTrailBucket).Return(activities.Mutation{}, nil).Once()
	h.on(acts.EnsureOrganizationTrail).Return(
		activities.TrailMutation{TrailState: workflows.TrailState{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}}, nil).Once()
	h.onVerifyEnabledOf(trailARN).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 2,
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
	h.on(acts.ReadState).Return(on, nil)
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
	h.on(acts.ReadState).Return(offState(), nil)
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

// refusedPreflight runs a change of one whose preflight is refused in a
// way never worth retrying; the change must fail. It returns the harness
// and how acme-prod ended.
func refusedPreflight(t *testing.T) (*harness, workflows.TargetSummary) {
	h := newHarness(t)
	h.preflight = func() (activities.Identity, error) {
		return activities.Identity{}, temporal.NewNonRetryableApplicationError("preflight of organization acme-prod: the caller acts in account 222222222222, not in the management account", activities.ErrNotManagementAccount, nil)
	}
	p, err := h.run(one(workflows.ActionEnable))
	if errorType(err) != workflows.ErrChangeFailed {
		t.Fatalf("error %v; want the change failed", err)
	}
	return h, p.Targets[0]
}

func TestNonRetryablePreflightErrorFailsFastWithTheReason(t *testing.T) {
	h, tg := refusedPreflight(t)
	if tg.Phase != workflows.PhaseFailed || !strings.Contains(tg.Error, "not in the management account") {
		t.Errorf("target %+v", tg)
	}
	if h.calls["preflight"] != 1 {
		t.Errorf("preflight ran %d times; a non-retryable error must not be retried", h.calls["preflight"])
	}
}

func TestThrottlingIsRetriedUntilItPasses(t *testing.T) {
	h := newHarness(t)
	h.noTrail = true
	h.on(acts.ReadState).Return(roleOnly(), nil)
	calls := 0
	h.on(acts.EnableTrustedAccess).Return(func(_ context.Context, _ activities.OrgInput) (activities.Mutation, error) {
		calls++
		if calls < 3 {
			return activities.Mutation{}, temporal.NewApplicationError("enable trusted access: TooManyRequestsException: rate exceeded", "TooManyRequestsException")
		}
		return activities.Mutation{}, nil
	})
	h.on(acts.VerifyEnabled).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 1}, nil)
	h.approveAt(time.Minute, "alice", "bob")
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
	h.on(acts.ReadState).Return(on, nil)
	inventories := 0
	h.on(acts.TakeInventory).Return(func(_ context.Context, _ activities.OrgInput) (workflows.Inventory, error) {
		inventories++
		return workflows.Inventory{OrganizationTrails: []workflows.TrailState{{ARN: trailARN, HomeRegion: "us-east-1", IsOrganizationTrail: true, IsLogging: true}}}, nil
	})
	return h, &inventories
}

func TestDisableWaitsForCleanupAndAcknowledgementThenApproval(t *testing.T) {
	h, inventories := disableHarness(t)
	h.on(acts.DisableTrustedAccess).Return(activities.Mutation{}, nil).Once()
	h.on(acts.VerifyDisabled).Return(workflows.Evidence{ServiceLinkedRole: true, Checks: 1,
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
	h.approveAt(3*time.Hour, "alice", "bob")
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
	h.on(acts.ReadState).Return(offState(), nil)
	h.runTo(one(workflows.ActionDisable), workflows.PhaseNoChange)
}

func TestRollbackReenablesAndVerifiesTrailsLog(t *testing.T) {
	h := newHarness(t)
	h.on(acts.ReadState).Return(roleOnly(), nil)
	h.on(acts.TakeInventory).Return(workflows.Inventory{
		OrganizationTrails: []workflows.TrailState{{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}, {ARN: trailARN + "-stopped", IsOrganizationTrail: true}}}, nil)
	h.on(acts.EnableTrustedAccess).Return(activities.Mutation{}, nil).Once()
	h.onVerifyEnabledOf(trailARN).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Trails: []workflows.TrailState{{ARN: trailARN, IsLogging: true}}}, nil).Once()
	h.approveAt(time.Minute, "alice", "bob")
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
	_, tg := refusedPreflight(t)
	if tg.Phase != workflows.PhaseFailed || strings.Contains(tg.Error, "gave up") || !strings.Contains(tg.Error, "the caller acts in account 222222222222") {
		t.Errorf("a refused preflight ended %s with %q; want the refusal as it is", tg.Phase, tg.Error)
	}
}

// Verification that does not see the change yet reads AWS again, backing
// off from five seconds, three times in all.
func TestVerificationReadsAgainGently(t *testing.T) {
	h := newHarness(t)
	h.noTrail = true
	h.on(acts.ReadState).Return(roleOnly(), nil)
	h.on(acts.EnableTrustedAccess).Return(activities.Mutation{}, nil)
	var reads []time.Time
	h.on(acts.VerifyEnabled).Return(func(context.Context, activities.VerifyInput) (workflows.Evidence, error) {
		reads = append(reads, h.env.Now())
		if len(reads) < 3 {
			return workflows.Evidence{}, temporal.NewApplicationError("trusted access is not visible yet", activities.ErrNotYetVisible)
		}
		return workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 1}, nil
	})
	h.approveAt(time.Minute, "alice", "bob")
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
			h.on(acts.ReadState).Return(on, nil)
			h.on(acts.TakeInventory).Return(tc.inv, nil)
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
