package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/metrics"
)

// a names activities by method; the worker registers the struct as a whole.
var a *activities.Activities

// target is one organization's change while its workflow runs.
type target struct {
	in       TargetInput
	progress TargetProgress

	// what the change said.
	released  bool
	stop      *ParentDecision // reject, cancel or expire
	confirmed *ParentDecision // the CloudTrail administrator's cleanup confirmation

	// depth: the procedure in depth (versionAWSDepth).
	depth bool
	// fewer: the calls of each phase in one activity (versionFewerCalls).
	fewer bool
}

// TargetWorkflow changes one organization of a change: preflight, read,
// plan, report to the change, wait for the change's word, act, and verify
// by reading AWS back. The change holds every gate and every decision; the
// target only takes the change's word.
func TargetWorkflow(ctx workflow.Context, in TargetInput) (TargetProgress, error) {
	if err := in.Validate(); err != nil {
		return TargetProgress{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	// Only the change that started a target holds its gates: a target
	// started straight through Temporal would take its organization, trail
	// and release from whoever started it. (Unguarded: see versions.go.)
	if parent := workflow.GetInfo(ctx).ParentWorkflowExecution; parent == nil || parent.ID != in.ParentWorkflowID {
		return TargetProgress{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"invalid target input: a target runs only as the child of the change that holds its gates (%s), never started on its own: start a change (trailgate enable or disable)",
			in.ParentWorkflowID), ErrInvalidInput, nil)
	}
	name := in.Organization.Organization
	t := &target{in: in, progress: TargetProgress{
		ChangeID:     in.ChangeID,
		Organization: name,
		Action:       in.Action,
		Requester:    in.Requester,
		Phase:        PhasePending,
		Approvals:    []Who{},
		Record:       []RecordEntry{},
	}}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (TargetProgress, error) { return t.progress, nil }); err != nil {
		return t.progress, err
	}
	// A target of versionFewerCalls is of every version before it: it asks
	// Temporal for none of them, each of which would record a marker and
	// index the workflow again.
	t.fewer = workflow.GetVersion(ctx, versionFewerCalls, workflow.DefaultVersion, 1) == 1
	t.takeDecisions(ctx, t.fewer || workflow.GetVersion(ctx, versionVerifiedSignals, workflow.DefaultVersion, 1) == 1)
	t.depth = t.fewer || workflow.GetVersion(ctx, versionAWSDepth, workflow.DefaultVersion, 1) == 1
	if !t.fewer {
		// The change sets them when it starts the target.
		_ = workflow.UpsertTypedSearchAttributes(ctx,
			ChangeIDKey.ValueSet(in.ChangeID),
			ActionKey.ValueSet(string(in.Action)),
			OrganizationKey.ValueSet(name))
	}
	detail := fmt.Sprintf("%s requested %s of trusted access for CloudTrail", in.Requester, in.Action)
	if in.Reason != "" {
		detail += ": " + in.Reason
	}
	t.record(ctx, RecordRequested, []string{in.Requester}, detail)

	err := t.run(ctx)
	switch {
	case err == nil:
	case temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled):
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		t.record(ctx, RecordCancelled, nil, "the workflow was cancelled; no further change is made")
		t.setPhase(ctx, PhaseCancelled)
	default:
		t.progress.LastError = err.Error()
		t.record(ctx, RecordError, nil, err.Error())
		t.setPhase(ctx, PhaseFailed)
	}
	t.record(ctx, RecordOutcome, nil, string(t.progress.Phase))
	// Updates accepted just before the end finish before the workflow does.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	if t.progress.Phase == PhaseFailed {
		return t.progress, temporal.NewApplicationError(
			fmt.Sprintf("%s of organization %s failed: %s", in.Action, name, t.progress.LastError),
			ErrTargetFailed, t.progress)
	}
	return t.progress, nil
}

// run walks the procedure for the target's action; it returns nil when the
// workflow reached a final phase it chose (succeeded, nothing to do,
// rejected, expired, cancelled) and an error when it failed.
func (t *target) run(ctx workflow.Context) error {
	org := t.in.Organization
	// CloudTrail's own log names the change and its requester.
	org.Session = activities.Session{ChangeID: t.in.ChangeID, SourceIdentity: t.in.Requester}
	t.setPhase(ctx, PhasePreflight)
	cur, err := t.survey(ctx, org)
	if err != nil {
		return err
	}
	switch t.in.Action {
	case ActionEnable:
		return t.enable(ctx, org, cur)
	case ActionDisable:
		return t.disable(ctx, org, cur)
	default:
		return t.rollback(ctx, org, cur)
	}
}

// survey runs the preflight and reads the organization's CloudTrail
// integration: in one activity since versionFewerCalls, in two before.
func (t *target) survey(ctx workflow.Context, org activities.OrgInput) (State, error) {
	preflight := func(id activities.Identity) {
		t.record(ctx, RecordPreflight, nil, fmt.Sprintf("caller %s in management account %s of %s (feature set %s)", id.ARN, id.ManagementAccountID, id.OrganizationID, id.FeatureSet))
	}
	if t.fewer {
		var s activities.Survey
		if err := t.call(ctx, "Preflight and read of the CloudTrail integration of "+org.Organization, a.SurveyOrganization, org, &s); err != nil {
			return s.State, err
		}
		preflight(s.Identity)
		if t.in.Action != ActionEnable {
			// Planning a disable or a rollback takes an inventory first.
			t.setPhase(ctx, PhasePlanning)
		}
		return s.State, nil
	}
	var id activities.Identity
	if err := t.call(ctx, "Preflight: identity and organization of "+org.Organization, a.Preflight, org, &id); err != nil {
		return State{}, err
	}
	preflight(id)
	t.setPhase(ctx, PhasePlanning)
	var cur State
	err := t.call(ctx, "Read CloudTrail integration of "+org.Organization, a.ReadState, org, &cur)
	return cur, err
}

func (t *target) enable(ctx workflow.Context, org activities.OrgInput, cur State) error {
	plan := PlanEnable(cur, org.Trail.Name, org.Trail.Bucket)
	replan := func(now State) (Plan, string) { return PlanEnableIn(now, org.Trail) }
	if t.depth {
		var blocked string
		if plan, blocked = replan(cur); blocked != "" {
			_, _, _, err := t.blocked(ctx, org, plan, blocked)
			return err
		}
	}
	if t.planned(ctx, plan) {
		return nil
	}
	if done, err := t.awaitRelease(ctx); done || err != nil {
		return err
	}
	if t.fewer {
		return t.enableApproved(ctx, org, cur, plan, replan)
	}
	if t.depth {
		var done bool
		var err error
		if plan, cur, done, err = t.recheck(ctx, org, plan, replan, false); done || err != nil {
			return err
		}
	}
	t.setPhase(ctx, PhaseApplying)
	if plan.Has(StepEnableTrustedAccess) {
		if err := t.mutate(ctx, t.mutationSummary(activities.MutateEnableTrustedAccess, org), a.EnableTrustedAccess, org, nil); err != nil {
			return err
		}
	}
	if plan.Has(StepCreateRole) {
		if err := t.createRole(ctx, org); err != nil {
			return err
		}
	}
	if plan.Has(StepRegisterAdmins) {
		if err := t.mutate(ctx, t.mutationSummary(activities.MutateRegisterAdmins, org), a.RegisterDelegatedAdministrators, org, nil); err != nil {
			return err
		}
	}
	var trailARNs []string
	if org.Trail.Name != "" {
		trail := activities.TrailInput{OrgInput: org, OrganizationID: cur.OrganizationID}
		if plan.Has(StepBucketPolicy) {
			if err := t.mutate(ctx, t.mutationSummary(activities.MutateBucketPolicy, org), a.EnsureTrailBucket, trail, nil); err != nil {
				return err
			}
		}
		if cur.Trail != nil {
			trailARNs = []string{cur.Trail.ARN}
		}
		if plan.Has(StepCreateTrail) || plan.Has(StepConvertTrail) || plan.Has(StepStartLogging) {
			var ts activities.TrailMutation
			if err := t.mutate(ctx, t.mutationSummary(activities.MutateOrganizationTrail, org), a.EnsureOrganizationTrail, trail, &ts); err != nil {
				return err
			}
			trailARNs = []string{ts.ARN}
		}
	}
	in := activities.VerifyInput{OrgInput: org, TrailARNs: trailARNs}
	if t.depth {
		in.DelegatedAdministrators = org.Trail.DelegatedAdministrators
	}
	return t.verify(ctx, a.VerifyEnabled, in, PhaseSucceeded)
}

// createRole creates the service-linked role. (Before versionAWSDepth
// the activity answered whether it created it; nothing used the answer.)
func (t *target) createRole(ctx workflow.Context, org activities.OrgInput) error {
	return t.mutate(ctx, t.mutationSummary(activities.MutateCreateRole, org), a.EnsureServiceLinkedRole, org, nil)
}

func (t *target) disable(ctx workflow.Context, org activities.OrgInput, cur State) error {
	plan := PlanDisable(cur)
	if plan.Empty() {
		t.planned(ctx, plan)
		return nil
	}
	if _, err := t.inventory(ctx, org); err != nil {
		return err
	}
	t.planned(ctx, plan)
	if done, err := t.cleanupGate(ctx, org); done || err != nil {
		return err
	}
	if done, err := t.awaitRelease(ctx); done || err != nil {
		return err
	}
	if t.depth {
		replan := func(now State) (Plan, string) { return PlanDisable(now), "" }
		if _, _, done, err := t.recheck(ctx, org, plan, replan, true); done || err != nil {
			return err
		}
	}
	t.setPhase(ctx, PhaseApplying)
	if err := t.mutate(ctx, "Disable trusted access for cloudtrail.amazonaws.com", a.DisableTrustedAccess, org, nil); err != nil {
		return err
	}
	return t.verify(ctx, a.VerifyDisabled, activities.VerifyInput{OrgInput: org, TrailARNs: t.progress.Inventory.TrailARNs()}, PhaseSucceeded)
}

func (t *target) rollback(ctx workflow.Context, org activities.OrgInput, cur State) error {
	inv, err := t.inventory(ctx, org)
	if err != nil {
		return err
	}
	plan := PlanRollback(cur, inv)
	if t.depth {
		plan = PlanRollbackIn(cur, inv)
	}
	if t.planned(ctx, plan) {
		return nil
	}
	if done, err := t.awaitRelease(ctx); done || err != nil {
		return err
	}
	if t.depth {
		replan := func(now State) (Plan, string) { return PlanRollbackIn(now, inv), "" }
		var done bool
		if plan, _, done, err = t.recheck(ctx, org, plan, replan, false); done || err != nil {
			return err
		}
	}
	t.setPhase(ctx, PhaseApplying)
	if t.fewer {
		var kinds []activities.MutationKind
		if plan.Has(StepEnableTrustedAccess) {
			kinds = append(kinds, activities.MutateEnableTrustedAccess)
		}
		if plan.Has(StepCreateRole) {
			kinds = append(kinds, activities.MutateCreateRole)
		}
		if _, err := t.apply(ctx, activities.ApplyInput{TrailInput: activities.TrailInput{OrgInput: org}, Mutations: kinds, Since: workflow.Now(ctx)}); err != nil {
			return err
		}
	} else if !t.depth || plan.Has(StepEnableTrustedAccess) {
		if err := t.mutate(ctx, t.mutationSummary(activities.MutateEnableTrustedAccess, org), a.EnableTrustedAccess, org, nil); err != nil {
			return err
		}
	}
	if t.depth && !t.fewer && plan.Has(StepCreateRole) {
		if err := t.createRole(ctx, org); err != nil {
			return err
		}
	}
	trails := inv.TrailARNs()
	if t.depth {
		// A trail that did not log before the rollback will not log after
		// it: verification and the probe wait for those that did.
		trails = loggingTrails(inv)
	}
	return t.verify(ctx, a.VerifyEnabled, activities.VerifyInput{OrgInput: org, TrailARNs: trails}, PhaseRolledBack)
}

// planned records the plan and reports whether there is nothing to do, in
// which case the target ends as such.
func (t *target) planned(ctx workflow.Context, plan Plan) bool {
	t.progress.Plan = &plan
	if plan.Empty() {
		t.record(ctx, RecordPlan, nil, "nothing to do: AWS already shows the desired state")
		t.setPhase(ctx, PhaseNoChange)
		return true
	}
	t.record(ctx, RecordPlan, nil, DescribeSteps(plan.Steps))
	return false
}

// inventory takes the impact inventory of a disable and records it.
func (t *target) inventory(ctx workflow.Context, org activities.OrgInput) (Inventory, error) {
	var inv Inventory
	if err := t.call(ctx, "Impact inventory of "+org.Organization, a.TakeInventory, org, &inv); err != nil {
		return inv, err
	}
	t.progress.Inventory = &inv
	t.record(ctx, RecordInventory, nil, DescribeInventory(inv))
	return inv, nil
}

// mutate runs one mutation and records it.
func (t *target) mutate(ctx workflow.Context, summary string, activity, input, result any) error {
	if !t.depth {
		if err := t.call(ctx, summary, activity, input, result); err != nil {
			return err
		}
		t.record(ctx, RecordMutation, nil, summary)
		return nil
	}
	var m activities.Mutation
	switch r := result.(type) {
	case *activities.TrailMutation:
		if err := t.call(ctx, summary, activity, input, r); err != nil {
			return err
		}
		m = r.Mutation
	default:
		if err := t.call(ctx, summary, activity, input, &m); err != nil {
			return err
		}
	}
	t.mutated(ctx, summary, m.Calls)
	return nil
}

// verify reads AWS back until it shows the result, records the evidence and
// ends the target in the final phase.
func (t *target) verify(ctx workflow.Context, activity any, in activities.VerifyInput, final Phase) error {
	t.setPhase(ctx, PhaseVerifying)
	if t.fewer {
		return t.confirm(ctx, in, final)
	}
	var ev Evidence
	if err := workflow.ExecuteActivity(t.verifyOptions(ctx), activity, in).Get(ctx, &ev); err != nil {
		return err
	}
	t.progress.Evidence = &ev
	t.record(ctx, RecordVerified, nil, describeEvidence(ev))
	if t.depth {
		if t.in.Action != ActionDisable {
			if err := t.probe(ctx, in); err != nil {
				return err
			}
		}
		t.linkEvents(ctx, in.OrgInput)
	}
	t.setPhase(ctx, final)
	return nil
}

// setPhase moves the target to a phase and keeps the search attribute, the
// memo and the parent current.
func (t *target) setPhase(ctx workflow.Context, p Phase) {
	if t.progress.Phase == p {
		return
	}
	t.progress.Phase = p
	metrics.PhaseEntered(workflow.GetMetricsHandler(ctx), string(t.in.Action), string(p))
	if p != PhaseAwaitingApproval && p != PhaseAwaitingCleanup {
		t.progress.Awaiting = nil
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, PhaseKey.ValueSet(string(p)))
	if !t.fewer {
		_ = workflow.UpsertMemo(ctx, map[string]any{"phase": string(p), "organization": t.progress.Organization, "action": string(t.in.Action)})
	}
	workflow.SetCurrentDetails(ctx, t.details())
}

// details is the workflow's current details in the UI, in Markdown: the
// phase, the gate it waits at, the plan and, once verified, the evidence.
// Current details are not recorded in the history: changing them needs no
// version.
func (t *target) details() string {
	s := fmt.Sprintf("**%s** of trusted access for CloudTrail in **%s**: %s", t.in.Action, t.progress.Organization, t.progress.Phase)
	if aw := t.progress.Awaiting; aw != nil {
		s += fmt.Sprintf("\n\nAwaiting %s from %s since %s", aw.What, strings.Join(aw.Who, ", "), aw.Since.Format(time.RFC3339))
	}
	if p := t.progress.Plan; p != nil && !p.Empty() {
		s += "\n\nPlan: " + DescribeSteps(p.Steps)
	}
	if ev := t.progress.Evidence; ev != nil {
		s += "\n\nEvidence: " + describeEvidence(*ev)
	}
	return s
}

// describeEvidence says what verification read back from AWS.
func describeEvidence(ev Evidence) string {
	s := fmt.Sprintf("after %d read(s): %s", ev.Checks, DescribeAccess(ev.TrustedAccess, ev.ServiceLinkedRole))
	for _, tr := range ev.Trails {
		s += fmt.Sprintf(", trail %s logging %t", tr.ARN, tr.IsLogging)
	}
	for _, n := range ev.Notes {
		s += "; " + n
	}
	return s
}

// report tells the parent change, if any, that the target waits at a gate;
// the parent learns outcomes from the child's result.
func (t *target) report(ctx workflow.Context, message string) {
	r := TargetReport{Organization: t.progress.Organization, Phase: t.progress.Phase, Plan: t.progress.Plan, Inventory: t.progress.Inventory, Message: message}
	// A parent that has gone is no reason to stop: the error is dropped.
	_ = workflow.SignalExternalWorkflow(ctx, t.in.ParentWorkflowID, "", SignalTargetReport, r).Get(ctx, nil)
}

// record appends an entry to the change record.
func (t *target) record(ctx workflow.Context, kind RecordKind, people []string, detail string) {
	t.progress.Record = append(t.progress.Record, RecordEntry{
		At: workflow.Now(ctx).UTC(), Organization: t.progress.Organization, Kind: kind, People: people, Detail: detail,
	})
}

// recordWho records what proven people decided at the change.
func (t *target) recordWho(ctx workflow.Context, kind RecordKind, who []Who, detail string) {
	t.progress.Record = append(t.progress.Record, whoEntry(workflow.Now(ctx), t.progress.Organization, kind, who, detail))
}

// fromParent takes the change's word.
func (t *target) fromParent(ctx workflow.Context, d ParentDecision) {
	switch d.Kind {
	case ParentRelease:
		t.released = true
		for _, w := range d.People {
			if !slices.ContainsFunc(t.progress.Approvals, func(x Who) bool { return x.By == w.By }) {
				t.progress.Approvals = append(t.progress.Approvals, w.recorded())
			}
		}
		t.recordWho(ctx, RecordApproved, d.People, "released by the change"+comment(d.Comment))
	case ParentCleanupConfirmed:
		t.confirmed = &d
		detail := "CloudTrail-side cleanup confirmed"
		if ack := d.acknowledged(); len(ack) > 0 {
			detail += ", acknowledging " + describeImpacts(ack)
		}
		t.recordWho(ctx, RecordCleanupConfirmed, d.People, detail+comment(d.Comment))
	case ParentReject, ParentCancel, ParentExpire:
		if t.stop == nil {
			t.stop = &d
		}
	}
}

// awaitRelease reports that the target stands at its approval gate and
// waits, without an expiry of its own, until the change releases it or ends
// it: the change holds the gate, its reminders and its expiry. done is true
// when the target ended at the gate.
func (t *target) awaitRelease(ctx workflow.Context) (done bool, err error) {
	return t.await(ctx, PhaseAwaitingApproval, "release by change "+t.in.ChangeID+" (its approval, window and concurrency)", func() bool { return t.released })
}

// cleanupGate waits for the change to forward the CloudTrail
// administrator's cleanup confirmation, then takes the inventory again:
// when organization trails remain, the confirmation must acknowledge that
// member-account logging stops, or the gate asks again and says why.
func (t *target) cleanupGate(ctx workflow.Context, org activities.OrgInput) (done bool, err error) {
	what := "cleanup confirmation from the CloudTrail administrator"
	if t.depth && t.progress.Inventory != nil {
		// Say from the start what the confirmation must acknowledge.
		if ask := unacknowledged(*t.progress.Inventory, ParentDecision{}); ask != "" {
			what = ask
		}
	}
	for {
		if done, err := t.await(ctx, PhaseAwaitingCleanup, what, func() bool { return t.confirmed != nil }); done || err != nil {
			return done, err
		}
		inv, err := t.inventory(ctx, org)
		if err != nil {
			return false, err
		}
		if t.depth {
			if what = unacknowledged(inv, *t.confirmed); what == "" {
				return false, nil
			}
			t.recordWho(ctx, RecordGate, t.confirmed.People, "confirmation not enough: "+what)
			t.confirmed = nil
			continue
		}
		if len(inv.OrganizationTrails) == 0 || t.confirmed.Acknowledge {
			return false, nil
		}
		what = fmt.Sprintf("cleanup confirmation that acknowledges that member-account logging stops: %d organization trail(s) remain (%s); confirm again with --acknowledge-member-logging-stops",
			len(inv.OrganizationTrails), strings.Join(inv.TrailARNs(), ", "))
		t.recordWho(ctx, RecordGate, t.confirmed.People, "confirmation not enough: "+what)
		t.confirmed = nil
	}
}

// await reports a gate to the change and waits for its word.
func (t *target) await(ctx workflow.Context, phase Phase, what string, passed func() bool) (bool, error) {
	t.progress.Awaiting = &Awaiting{What: what, Since: workflow.Now(ctx), Who: []string{"change " + t.in.ChangeID}}
	t.setPhase(ctx, phase)
	workflow.SetCurrentDetails(ctx, t.details())
	t.record(ctx, RecordGate, nil, "awaiting "+what)
	t.report(ctx, what)
	if err := workflow.Await(ctx, func() bool { return passed() || t.stop != nil }); err != nil {
		return true, err
	}
	if d := t.stop; d != nil {
		switch d.Kind {
		case ParentReject:
			t.recordWho(ctx, RecordRejected, d.People, "rejected at the change's gate"+comment(d.Comment))
			t.setPhase(ctx, PhaseRejected)
		case ParentCancel:
			t.recordWho(ctx, RecordCancelled, d.People, "cancelled by the change"+comment(d.Comment))
			t.setPhase(ctx, PhaseCancelled)
		default:
			t.record(ctx, RecordExpired, nil, "the change's wave expired undecided"+comment(d.Comment)+": nothing was changed")
			t.setPhase(ctx, PhaseExpired)
		}
		return true, nil
	}
	t.progress.Awaiting = nil
	return false, nil
}

// retryBudget is how long an AWS call is retried before the target gives
// up on it (a non-retryable error ends it at once). Tests lower it.
var retryBudget = 30 * time.Minute

// call runs one AWS activity with the call options; when its retries run
// out, the error says what was tried, for how long, and the last error.
func (t *target) call(ctx workflow.Context, summary string, activity, input, result any) error {
	return gaveUp(summary, workflow.ExecuteActivity(t.callOptions(ctx, summary), activity, input).Get(ctx, result))
}

// gaveUp is err, or, when the call's retries ran out, an error that says
// what was tried, for how long, and the last error.
func gaveUp(summary string, err error) error {
	var actErr *temporal.ActivityError
	var timeout *temporal.TimeoutError
	if err == nil || !errors.As(err, &actErr) || (actErr.RetryState() != enumspb.RETRY_STATE_TIMEOUT && !errors.As(err, &timeout)) {
		return err
	}
	last := "none was recorded"
	if cause := errors.Unwrap(actErr); cause != nil {
		last = message(cause)
		if errors.As(cause, &timeout) && errors.Unwrap(timeout) != nil {
			last = message(errors.Unwrap(timeout))
		}
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("gave up on %q after retrying it for %s; the last error: %s",
		summary, retryBudget, last), ErrRetriesExhausted, nil)
}

// callOptions are the options of every AWS call but verification: each
// attempt is short, retries back off up to a minute, and the call gives up
// after half an hour (a non-retryable error ends it at once).
func (t *target) callOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:                summary,
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: retryBudget,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
}

func (t *target) verifyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:             "Verify: read AWS back until it shows the change",
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumAttempts:    3,
		},
	})
}
