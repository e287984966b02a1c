package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

var acts = &activities.Activities{}

const trailARN = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"

func input(action workflows.Action) workflows.TargetInput {
	return workflows.TargetInput{
		ChangeID:     "chg-1",
		Action:       action,
		Organization: config.Organization{Name: "acme-prod", ManagementAccountID: "111111111111"},
		Trail:        config.Trail{Name: "org-trail", Bucket: "org-trail-bucket", MultiRegion: true},
		Policy: workflows.GatePolicy{
			RequiredApprovals: 2,
			Approvers:         []string{"alice", "bob", "dave"},
			CloudTrailAdmins:  []string{"carol"},
			Timeout:           7 * 24 * time.Hour,
			ReminderEvery:     24 * time.Hour,
		},
		Requester: "dave",
	}
}

type harness struct {
	t         *testing.T
	env       *testsuite.TestWorkflowEnvironment
	reminders []activities.NotifyInput
}

func newHarness(t *testing.T) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env)
	env.RegisterActivity(acts)
	env.OnActivity(acts.Preflight, mock.Anything, mock.Anything).Return(activities.Identity{
		AccountID: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/TrailgateOperator/trailgate",
		OrganizationID: "o-abc123", ManagementAccountID: "111111111111", FeatureSet: "ALL",
	}, nil).Maybe()
	h := &harness{t: t, env: env}
	env.OnActivity(acts.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NotifyInput) error {
		h.reminders = append(h.reminders, in)
		return nil
	}).Maybe()
	return h
}

// at runs f after d of workflow time.
func (h *harness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

// update sends an update and returns the validator's refusal, if any.
func (h *harness) update(name string, arg any, refused *error) {
	h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() {},
		OnReject:   func(err error) { *refused = err },
		OnComplete: func(any, error) {},
	}, arg)
}

func (h *harness) mustUpdate(name string, arg any) {
	h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() {},
		OnReject:   func(err error) { h.t.Errorf("update %s %+v refused: %v", name, arg, err) },
		OnComplete: func(any, error) {},
	}, arg)
}

func (h *harness) run(in workflows.TargetInput) (workflows.TargetProgress, error) {
	h.env.ExecuteWorkflow(workflows.TargetWorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	var p workflows.TargetProgress
	err := h.env.GetWorkflowError()
	if err == nil {
		if gerr := h.env.GetWorkflowResult(&p); gerr != nil {
			h.t.Fatal(gerr)
		}
	}
	return p, err
}

func offState() workflows.State {
	return workflows.State{OrganizationID: "o-abc123", ManagementAccountID: "111111111111"}
}

func TestEnableAppliesPlanAfterTwoApprovalsAndVerifies(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(offState(), nil).Once()
	h.env.OnActivity(acts.EnableTrustedAccess, mock.Anything, mock.Anything).Return(nil).Once()
	h.env.OnActivity(acts.EnsureServiceLinkedRole, mock.Anything, mock.Anything).Return(true, nil).Once()
	h.env.OnActivity(acts.EnsureTrailBucket, mock.Anything, mock.Anything).Return(nil).Once()
	h.env.OnActivity(acts.EnsureOrganizationTrail, mock.Anything, mock.Anything).Return(
		workflows.TrailState{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}, nil).Once()
	h.env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.MatchedBy(func(in activities.VerifyInput) bool {
		return len(in.TrailARNs) == 1 && in.TrailARNs[0] == trailARN
	})).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 2,
		Trails: []workflows.TrailState{{ARN: trailARN, IsLogging: true}}}, nil).Once()

	var selfApproval, duplicate, stranger, wrongPhase error
	h.at(time.Hour, func() {
		h.update(workflows.UpdateApprove, workflows.Decision{By: "dave"}, &selfApproval)
		h.update(workflows.UpdateApprove, workflows.Decision{By: "mallory"}, &stranger)
		h.update(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{By: "carol"}, &wrongPhase)
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{By: "alice", Comment: "looks right"})
	})
	h.at(2*time.Hour, func() {
		h.update(workflows.UpdateApprove, workflows.Decision{By: "alice"}, &duplicate)
		q, err := h.env.QueryWorkflow(workflows.QueryProgress)
		if err != nil {
			t.Fatal(err)
		}
		var p workflows.TargetProgress
		_ = q.Get(&p)
		if p.Phase != workflows.PhaseAwaitingApproval || len(p.Approvals) != 1 || p.Awaiting == nil || p.Plan == nil || len(p.Plan.Steps) != 5 {
			t.Errorf("progress while waiting for the second approval: %+v", p)
		}
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{By: "bob"})
	})
	p, err := h.run(input(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded || p.Evidence == nil || !p.Evidence.TrustedAccess {
		t.Fatalf("phase %s, evidence %+v", p.Phase, p.Evidence)
	}
	for name, err := range map[string]error{"self-approval": selfApproval, "duplicate": duplicate, "stranger": stranger, "wrong phase": wrongPhase} {
		if err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
	wantIn(t, selfApproval, "two-person rule")
	wantIn(t, duplicate, "already approved")
	wantIn(t, stranger, "not an approver")
	wantIn(t, wrongPhase, "not awaiting cleanup")
	if kinds := recordKinds(p); !strings.Contains(kinds, "approved approved") || !strings.Contains(kinds, "mutation") || !strings.HasSuffix(kinds, "verified outcome") {
		t.Errorf("record kinds: %s", kinds)
	}
	h.env.AssertExpectations(t)
}

func TestEnableWithNothingToDoSucceedsWithoutMutating(t *testing.T) {
	h := newHarness(t)
	on := offState()
	on.TrustedAccess, on.ServiceLinkedRole, on.BucketPolicyReady = true, true, true
	on.Trail = &workflows.TrailState{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(on, nil).Once()
	p, err := h.run(input(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseNoChange || p.Plan == nil || !p.Plan.Empty() {
		t.Fatalf("phase %s plan %+v", p.Phase, p.Plan)
	}
	h.env.AssertNotCalled(t, "EnableTrustedAccess", mock.Anything, mock.Anything)
}

func TestApprovalGateExpiresAfterAWeekWithDailyReminders(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(offState(), nil)
	p, err := h.run(input(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseExpired {
		t.Fatalf("phase %s", p.Phase)
	}
	if len(h.reminders) != 6 {
		t.Fatalf("%d reminders in a week with one a day before expiry, want 6", len(h.reminders))
	}
	if r := h.reminders[5].Reminder; r.ChangeID != "chg-1" || r.Organization != "acme-prod" || !strings.Contains(r.Awaiting, "2 approval(s)") {
		t.Errorf("reminder %+v", r)
	}
	h.env.AssertNotCalled(t, "EnableTrustedAccess", mock.Anything, mock.Anything)
}

func TestRejectionEndsTheChangeWithNothingChanged(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(offState(), nil)
	var stranger error
	h.at(time.Minute, func() {
		h.update(workflows.UpdateReject, workflows.Decision{By: "mallory"}, &stranger)
		h.mustUpdate(workflows.UpdateReject, workflows.Decision{By: "bob", Comment: "not this week"})
	})
	p, err := h.run(input(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseRejected {
		t.Fatalf("phase %s", p.Phase)
	}
	wantIn(t, stranger, "may not reject")
	h.env.AssertNotCalled(t, "EnableTrustedAccess", mock.Anything, mock.Anything)
}

func TestCancelBeforeMutationEndsAsCancelled(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(offState(), nil)
	var stranger error
	h.at(time.Minute, func() {
		h.update(workflows.UpdateCancel, workflows.Control{By: "mallory"}, &stranger)
		h.mustUpdate(workflows.UpdateCancel, workflows.Control{By: "dave", Reason: "wrong window"})
	})
	p, err := h.run(input(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseCancelled {
		t.Fatalf("phase %s", p.Phase)
	}
	wantIn(t, stranger, "may not cancel")
}

func TestNonRetryablePreflightErrorFailsFastWithTheReason(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.TargetWorkflow, workflow.RegisterOptions{Name: workflows.TargetWorkflowName})
	env.RegisterActivity(acts)
	calls := 0
	env.OnActivity(acts.Preflight, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.OrgInput) (activities.Identity, error) {
		calls++
		return activities.Identity{}, temporal.NewNonRetryableApplicationError("preflight of organization acme-prod: the caller acts in account 222222222222, not in the management account", activities.ErrNotManagementAccount, nil)
	})
	env.ExecuteWorkflow(workflows.TargetWorkflowName, input(workflows.ActionEnable))
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTargetFailed {
		t.Fatalf("error %v", err)
	}
	wantIn(t, err, "not in the management account")
	var p workflows.TargetProgress
	if derr := appErr.Details(&p); derr != nil || p.Phase != workflows.PhaseFailed {
		t.Errorf("details %+v (%v)", p, derr)
	}
	if calls != 1 {
		t.Errorf("preflight ran %d times; a non-retryable error must not be retried", calls)
	}
}

func TestThrottlingIsRetriedUntilItPasses(t *testing.T) {
	h := newHarness(t)
	in := input(workflows.ActionEnable)
	in.Trail = config.Trail{}
	st := offState()
	st.ServiceLinkedRole = true
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(st, nil)
	calls := 0
	h.env.OnActivity(acts.EnableTrustedAccess, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.OrgInput) error {
		calls++
		if calls < 3 {
			return temporal.NewApplicationError("enable trusted access: TooManyRequestsException: rate exceeded", "TooManyRequestsException")
		}
		return nil
	})
	h.env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.Anything).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 1}, nil)
	h.at(time.Minute, func() {
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{By: "alice"})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{By: "bob"})
	})
	p, err := h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded || calls != 3 {
		t.Fatalf("phase %s after %d calls", p.Phase, calls)
	}
}

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
	h.env.OnActivity(acts.DisableTrustedAccess, mock.Anything, mock.Anything).Return(nil).Once()
	h.env.OnActivity(acts.VerifyDisabled, mock.Anything, mock.Anything).Return(workflows.Evidence{ServiceLinkedRole: true, Checks: 1,
		Notes: []string{"organization trails remain"}}, nil).Once()
	var early, notAdmin error
	h.at(time.Hour, func() {
		h.update(workflows.UpdateApprove, workflows.Decision{By: "alice"}, &early)
		h.update(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{By: "alice"}, &notAdmin)
		h.mustUpdate(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{By: "carol"})
	})
	h.at(2*time.Hour, func() {
		q, _ := h.env.QueryWorkflow(workflows.QueryProgress)
		var p workflows.TargetProgress
		_ = q.Get(&p)
		if p.Phase != workflows.PhaseAwaitingCleanup || p.Awaiting == nil || !strings.Contains(p.Awaiting.What, "acknowledge-member-logging-stops") {
			t.Errorf("after a confirmation without acknowledgement: %+v", p.Awaiting)
		}
		h.mustUpdate(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{By: "carol", AcknowledgeMemberLoggingStops: true})
	})
	h.at(3*time.Hour, func() {
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{By: "alice"})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{By: "bob"})
	})
	p, err := h.run(input(workflows.ActionDisable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("phase %s", p.Phase)
	}
	wantIn(t, early, "not awaiting approval")
	wantIn(t, notAdmin, "not a CloudTrail administrator")
	if *inventories != 3 {
		t.Errorf("inventory taken %d times, want 3 (before, and after each confirmation)", *inventories)
	}
	h.env.AssertExpectations(t)
}

func TestDisableExpiresWhenNobodyConfirmsCleanup(t *testing.T) {
	h, _ := disableHarness(t)
	p, err := h.run(input(workflows.ActionDisable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseExpired {
		t.Fatalf("phase %s", p.Phase)
	}
	h.env.AssertNotCalled(t, "DisableTrustedAccess", mock.Anything, mock.Anything)
}

func TestDisableWhenNotEnabledHasNothingToDo(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(offState(), nil)
	p, err := h.run(input(workflows.ActionDisable))
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
		OrganizationTrails: []workflows.TrailState{{ARN: trailARN, IsOrganizationTrail: true}}}, nil)
	h.env.OnActivity(acts.EnableTrustedAccess, mock.Anything, mock.Anything).Return(nil).Once()
	h.env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.MatchedBy(func(in activities.VerifyInput) bool {
		return len(in.TrailARNs) == 1 && in.TrailARNs[0] == trailARN
	})).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Trails: []workflows.TrailState{{ARN: trailARN, IsLogging: true}}}, nil).Once()
	h.at(time.Minute, func() {
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{By: "alice"})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{By: "bob"})
	})
	p, err := h.run(input(workflows.ActionRollback))
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
	in := input(workflows.ActionEnable)
	in.ChangeID = "bad id/with slash"
	in.Requester = ""
	_, err := h.run(in)
	wantIn(t, err, "change ID")
	wantIn(t, err, "requester is empty")
}

func wantIn(t *testing.T, err error, sub string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), sub) {
		t.Errorf("error %v does not say %q", err, sub)
	}
}

func recordKinds(p workflows.TargetProgress) string {
	var kinds []string
	for _, e := range p.Record {
		kinds = append(kinds, e.Kind)
	}
	return strings.Join(kinds, " ")
}
