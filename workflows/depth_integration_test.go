package workflows_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// approvalRound is a person's proven approval of a wave's approval round.
func approvalRound(t *testing.T, env *testenv.Env, person, changeID string, wave, round int) workflows.Decision {
	d := workflows.Decision{Wave: wave, Round: round, Who: workflows.Who{Nonce: testenv.Nonce()}}
	d.Who = env.Prove(t, person, d.Binding(changeID, workflows.DecisionApprove))
	return d
}

// integratedByHand starts the test environment with org's CloudTrail
// integration made by hand, not by trailgate: trusted access on and the
// service-linked role created.
func integratedByHand(t *testing.T, org string) (*testenv.Env, *awsView, *byHand) {
	env := testenv.Start(t, testenv.Options{Instant: true})
	v := view(t, env, org)
	by := hands(v)
	by.trustedAccess(true)
	by.createRole()
	return env, v, by
}

// confirmation is carol's proven cleanup confirmation acknowledging what
// ack says.
func confirmation(t *testing.T, env *testenv.Env, changeID string, ack func(*workflows.CleanupConfirmation)) workflows.CleanupConfirmation {
	c := workflows.CleanupConfirmation{Who: workflows.Who{Nonce: testenv.Nonce()}}
	ack(&c)
	c.Who = env.Prove(t, "carol", c.Binding(changeID))
	return c
}

func targetProgress(t *testing.T, env *testenv.Env, changeID, org string) workflows.TargetProgress {
	t.Helper()
	v, err := env.Client.QueryWorkflow(context.Background(), workflows.TargetWorkflowID(changeID, org), "", workflows.QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var tp workflows.TargetProgress
	if err := v.Get(&tp); err != nil {
		t.Fatal(err)
	}
	return tp
}

func kindsOf(record []workflows.RecordEntry, kind workflows.RecordKind) string {
	var out []string
	for _, e := range record {
		if e.Kind == kind {
			out = append(out, e.Detail)
		}
	}
	return strings.Join(out, "\n")
}

// An organization trail and an event data store created by hand after the
// CloudTrail administrator confirmed cleanup, and before approval, send
// the disable back to the cleanup gate with nothing disabled; each kind of
// impact must then be acknowledged; a rollback afterwards recreates the
// service-linked role deleted while trusted access was off.
func TestImpactCreatedAfterTheConfirmationReturnsTheDisableToCleanup(t *testing.T) {
	env, v, by := integratedByHand(t, "acme-staging")

	in := request(t, env, "disable-late-trail", workflows.ActionDisable, "acme-staging")
	run := start(t, env, in)
	waitChange(t, env, in.ChangeID, phaseIs(workflows.PhaseAwaitingCleanup))
	mustUpdate(t, env, in.ChangeID, workflows.UpdateConfirmCleanup, confirmation(t, env, in.ChangeID, func(*workflows.CleanupConfirmation) {}))
	waitChange(t, env, in.ChangeID, awaitingWave(1))

	trail := by.organizationTrail("late-trail")
	store := by.eventDataStore("late-store")
	approveWave(t, env, in.ChangeID, 1)
	p := waitChange(t, env, in.ChangeID, phaseIs(workflows.PhaseAwaitingCleanup))
	if !v.trustedAccess() {
		t.Fatal("trusted access was disabled although AWS changed since the confirmation")
	}
	if !containsAll(p.Awaiting.What, trail, store, "--acknowledge-member-logging-stops", "--acknowledge-event-data-stores") {
		t.Errorf("the cleanup gate asks for %q; want the new trail and store, and the flags that acknowledge them", p.Awaiting.What)
	}
	tp := targetProgress(t, env, in.ChangeID, "acme-staging")
	if got := kindsOf(tp.Record, "recheck"); !containsAll(got, "since the CloudTrail administrator confirmed cleanup", "organization trail "+trail, "organization event data store "+store, "nothing was changed") {
		t.Errorf("the record says of the recheck %q", got)
	}

	// Acknowledging trails alone is not enough: the store stops too.
	mustUpdate(t, env, in.ChangeID, workflows.UpdateConfirmCleanup, confirmation(t, env, in.ChangeID, func(c *workflows.CleanupConfirmation) {
		c.AcknowledgeMemberLoggingStops = true
	}))
	p = waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool {
		return p.Phase == workflows.PhaseAwaitingCleanup && p.Awaiting != nil && strings.Contains(p.Awaiting.What, "--acknowledge-event-data-stores") && !strings.Contains(p.Awaiting.What, "--acknowledge-member-logging-stops")
	})
	if !v.trustedAccess() {
		t.Fatal("a confirmation that does not acknowledge the event data store went through")
	}
	mustUpdate(t, env, in.ChangeID, workflows.UpdateConfirmCleanup, confirmation(t, env, in.ChangeID, func(c *workflows.CleanupConfirmation) {
		c.AcknowledgeMemberLoggingStops, c.AcknowledgeEventDataStores = true, true
	}))
	if p = result(t, run); p.Phase != workflows.PhaseSucceeded || v.trustedAccess() {
		t.Fatalf("the disable ended %s, trusted access %t: %+v", p.Phase, v.trustedAccess(), p.Targets)
	}
	if got := recordOf(p, "cleanup-confirmed"); !strings.Contains(got, "organization event data stores stop collecting") {
		t.Errorf("the change records the confirmation as %q; want what it acknowledged", got)
	}
	if inv := p.Targets[0].Inventory; inv == nil || !slices.Contains(inv.TrailARNs(), trail) || !slices.Contains(inv.EventDataStores, store) {
		t.Errorf("the inventory kept is %+v; want the trail and store found before acting", inv)
	}
	recordHistory(t, env, in.ChangeID, "change-disable-regated")
	recordHistory(t, env, workflows.TargetWorkflowID(in.ChangeID, "acme-staging"), "change-disable-regated-child")

	// With trusted access off, someone deletes the service-linked role; a
	// rollback recreates it.
	by.deleteRole()
	in = request(t, env, "rollback-role", workflows.ActionRollback, "acme-staging")
	run = start(t, env, in)
	p = waitChange(t, env, in.ChangeID, awaitingWave(1))
	if plan := p.Targets[0].Plan; plan == nil || !plan.Has(workflows.StepCreateRole) || !plan.Has(workflows.StepEnableTrustedAccess) {
		t.Fatalf("the rollback plans %+v; want trusted access and the role", plan)
	}
	approveWave(t, env, in.ChangeID, 1)
	if p = result(t, run); p.Phase != workflows.PhaseRolledBack || !v.role() || !v.trustedAccess() {
		t.Fatalf("rollback ended %s: role %t, trusted access %t", p.Phase, v.role(), v.trustedAccess())
	}
	tp = targetProgress(t, env, in.ChangeID, "acme-staging")
	if got := kindsOf(tp.Record, "probe"); !containsAll(got, v.org.MemberAccountIDs[0], trail+" (organization trail true, logging true)") {
		t.Errorf("the rollback's member-account probe says %q", got)
	}
}

// A plan that grew since approval (trusted access turned off by hand)
// goes back to approval with nothing changed; a plan that shrank (trusted
// access turned on by hand) goes ahead and says so. The enable registers
// the delegated administrator, probes a member account, and CloudTrail's
// LookupEvents names the change and its requester on every mutation.
func TestAPlanThatChangedSinceApprovalIsApprovedAgainOrShrinks(t *testing.T) {
	env, v, by := integratedByHand(t, "globex")

	in := request(t, env, "enable-grew", workflows.ActionEnable, "globex")
	run := start(t, env, in)
	p := waitChange(t, env, in.ChangeID, awaitingWave(1))
	if plan := p.Targets[0].Plan; plan == nil || plan.Has(workflows.StepEnableTrustedAccess) || !plan.Has(workflows.StepRegisterAdmins) {
		t.Fatalf("the plan is %+v; want no trusted access step (it is on) and the delegated administrator", plan)
	}
	by.trustedAccess(false)
	approveWave(t, env, in.ChangeID, 1)
	p = waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool {
		return p.Phase == workflows.PhaseAwaitingApproval && p.Awaiting != nil && strings.Contains(p.Awaiting.What, "again")
	})
	if v.trustedAccess() || v.trailExists() {
		t.Fatalf("trailgate acted on a plan that grew since approval: trusted access %t, trail %t", v.trustedAccess(), v.trailExists())
	}
	if plan := p.Targets[0].Plan; plan == nil || !plan.Has(workflows.StepEnableTrustedAccess) {
		t.Errorf("approvers are shown the plan %+v; want the new step", plan)
	}
	tp := targetProgress(t, env, in.ChangeID, "globex")
	if got := kindsOf(tp.Record, "recheck"); !containsAll(got, "new steps (enable trusted access", "needs approval again") {
		t.Errorf("the record says of the recheck %q", got)
	}
	if p.Waves[0].ApprovalRound() != 2 || len(p.Waves[0].Approvals) != 0 {
		t.Errorf("wave 1 is at approval round %d with approvals %+v; want round 2 and none yet", p.Waves[0].ApprovalRound(), p.Waves[0].Approvals)
	}
	// A proof made for the first round (signed before the plan changed,
	// sent late) is no approval of the changed plan.
	wantIn(t, update(env, in.ChangeID, workflows.UpdateApprove, approval(t, env, "alice", in.ChangeID, 1)), "approval round 2, not round 1")
	wantIn(t, update(env, in.ChangeID, workflows.UpdateApprove, approvalRound(t, env, "dave", in.ChangeID, 1, 2)), "two-person rule")
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, approvalRound(t, env, "alice", in.ChangeID, 1, 2))
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, approvalRound(t, env, "bob", in.ChangeID, 1, 2))
	if p = result(t, run); p.Phase != workflows.PhaseSucceeded || !v.trustedAccess() || !v.trailExists() {
		t.Fatalf("the enable ended %s: trusted access %t, trail %t", p.Phase, v.trustedAccess(), v.trailExists())
	}
	recordHistory(t, env, in.ChangeID, "change-enable-reapproved")
	recordHistory(t, env, workflows.TargetWorkflowID(in.ChangeID, "globex"), "change-enable-reapproved-child")

	admins, err := by.delegatedAdministrators()
	if err != nil || len(admins) != 1 || admins[0] != v.org.MemberAccountIDs[0] {
		t.Errorf("CloudTrail's delegated administrators: %v (%v); want the first member account", admins, err)
	}
	tp = targetProgress(t, env, in.ChangeID, "globex")
	if got := kindsOf(tp.Record, "probe"); !containsAll(got, v.org.MemberAccountIDs[0], v.trail+" (organization trail true, logging true)") {
		t.Errorf("the member-account probe says %q", got)
	}
	var ids []string
	for _, e := range tp.Record {
		for _, c := range e.Calls {
			ids = append(ids, c.RequestID)
		}
	}
	if len(ids) < 5 || slices.Contains(ids, "") {
		t.Fatalf("mutations recorded the request IDs %v; want every call's", ids)
	}
	events := kindsOf(tp.Record, "events")
	if !containsAll(events, "CloudTrail shows", "by session tg-enable-grew", "source identity dave") {
		t.Errorf("the record links events as %q", events)
	}
	if names := by.eventNames("tg-enable-grew"); !slices.Contains(names, "CreateTrail") || !slices.Contains(names, "StartLogging") {
		t.Errorf("LookupEvents by the change's session name shows %v; want trailgate's mutations", names)
	}

	// Shrank: trusted access turned on by hand before approval.
	v = view(t, env, "acme-prod")
	hands(v).trustedAccess(false)
	in = request(t, env, "enable-shrank", workflows.ActionEnable, "acme-prod")
	run = start(t, env, in)
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	hands(v).trustedAccess(true)
	approveWave(t, env, in.ChangeID, 1)
	if p = result(t, run); p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("the enable ended %s: %+v", p.Phase, p.Targets)
	}
	tp = targetProgress(t, env, in.ChangeID, "acme-prod")
	if got := kindsOf(tp.Record, "recheck"); !containsAll(got, "done by hand (enable trusted access", "going ahead with the rest") {
		t.Errorf("the record says of the recheck %q", got)
	}
	if strings.Contains(kindsOf(tp.Record, "mutation"), "Enable trusted access") {
		t.Error("trailgate enabled trusted access that someone had enabled by hand")
	}
}

// A trail of the managed trail's name that logs to another bucket is never
// repointed: the enable stops at its plan and says what to do, with
// nothing changed.
func TestAnEnableNeverMovesATrailsLogs(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Instant: true})
	v := view(t, env, "acme-staging")
	by := hands(v)
	arn := by.trail(env.Config.Trail.Name, false)

	in := request(t, env, "enable-bucket", workflows.ActionEnable, "acme-staging")
	run := start(t, env, in)
	var p workflows.ChangeProgress
	if err := run.Get(context.Background(), &p); err == nil {
		t.Fatal("the enable went ahead with a trail that logs elsewhere")
	}
	tp := targetProgress(t, env, in.ChangeID, "acme-staging")
	if !containsAll(tp.LastError, arn, "logs to bucket by-hand-"+env.Config.Trail.Name+"-"+v.org.ManagementAccountID, "never moves a trail's logs", "set trail.bucket to") {
		t.Errorf("the enable failed with %q", tp.LastError)
	}
	trail, err := by.trailOf(arn)
	if err != nil || aws.ToString(trail.S3BucketName) != "by-hand-"+env.Config.Trail.Name+"-"+v.org.ManagementAccountID || aws.ToBool(trail.IsOrganizationTrail) || v.trustedAccess() {
		t.Errorf("AWS changed: trail %+v (%v), trusted access %t", trail, err, v.trustedAccess())
	}
}

// A change cancelled through Temporal (its CLI, UI or API) while it waits
// for a changed plan to be approved again ends cancelled, with nothing
// done to AWS.
func TestACancelThroughTemporalAtTheReapprovalGateEndsCleanly(t *testing.T) {
	env, v, by := integratedByHand(t, "globex")

	in := request(t, env, "enable-cancelled-again", workflows.ActionEnable, "globex")
	run := start(t, env, in)
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	by.trustedAccess(false)
	approveWave(t, env, in.ChangeID, 1)
	waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool {
		return p.Phase == workflows.PhaseAwaitingApproval && p.Awaiting != nil && strings.Contains(p.Awaiting.What, "again")
	})
	cancelThroughTemporal(t, env, run)
	p := waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool { return p.Phase.Final() })
	if p.Phase != workflows.PhaseCancelled || p.Targets[0].Phase != workflows.PhaseCancelled {
		t.Errorf("the change ended %s, globex %s; want both cancelled", p.Phase, p.Targets[0].Phase)
	}
	if v.trustedAccess() || v.trailExists() {
		t.Errorf("a change cancelled at its re-approval gate changed AWS: trusted access %t, trail %t", v.trustedAccess(), v.trailExists())
	}
}
