package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// a names activities by method; the worker registers the struct as a whole.
var a *activities.Activities

// Application error types of the target workflow.
const (
	ErrInvalidInput = "InvalidInput"
	ErrTargetFailed = "TargetFailed"
)

// target is one organization's change while its workflow runs.
type target struct {
	in       TargetInput
	progress TargetProgress

	// decisions taken at the gates.
	released  bool // the parent change let this target proceed past approval
	rejected  *Decision
	cancelled *Control
	expired   *ParentDecision // the change expired this target's wave
	cleanup   *CleanupConfirmation
}

// TargetWorkflow changes one organization: preflight, read, plan, the gates,
// the AWS calls, and verification that reads AWS back. It runs alone (a
// change of one organization) or as a child of a ChangeWorkflow, whose gates
// it then leaves to the parent.
func TargetWorkflow(ctx workflow.Context, in TargetInput) (TargetProgress, error) {
	if err := in.Validate(); err != nil {
		return TargetProgress{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	in.Trail = in.Trail.For(in.Organization)
	t := &target{in: in, progress: TargetProgress{
		ChangeID:     in.ChangeID,
		Organization: in.Organization.Name,
		Action:       in.Action,
		Requester:    in.Requester,
		Phase:        PhasePending,
		Approvals:    []Decision{},
		Record:       []RecordEntry{},
	}}
	if err := t.registerHandlers(ctx); err != nil {
		return t.progress, err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx,
		ChangeIDKey.ValueSet(in.ChangeID),
		ActionKey.ValueSet(string(in.Action)),
		OrganizationKey.ValueSet(in.Organization.Name))
	detail := fmt.Sprintf("%s requested %s of trusted access for CloudTrail", in.Requester, in.Action)
	if in.Reason != "" {
		detail += ": " + in.Reason
	}
	t.record(ctx, "requested", []string{in.Requester}, detail)

	err := t.run(ctx)
	switch {
	case err == nil:
	case temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled):
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		t.record(ctx, "cancelled", nil, "the workflow was cancelled; no further change is made")
		t.setPhase(ctx, PhaseCancelled)
	default:
		t.progress.LastError = err.Error()
		t.record(ctx, "error", nil, err.Error())
		t.setPhase(ctx, PhaseFailed)
	}
	t.record(ctx, "outcome", nil, string(t.progress.Phase))
	// Updates accepted just before the end finish before the workflow does.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	if t.progress.Phase == PhaseFailed {
		return t.progress, temporal.NewApplicationError(
			fmt.Sprintf("%s of organization %s failed: %s", in.Action, in.Organization.Name, t.progress.LastError),
			ErrTargetFailed, t.progress)
	}
	return t.progress, nil
}

// run walks the procedure for the target's action; it returns nil when the
// workflow reached a final phase it chose (succeeded, nothing to do,
// rejected, expired, cancelled) and an error when it failed.
func (t *target) run(ctx workflow.Context) error {
	org := activities.OrgInput{Organization: t.in.Organization}
	if t.in.Action == ActionEnable {
		org.Trail = t.in.Trail
	}
	t.setPhase(ctx, PhasePreflight)
	var id activities.Identity
	if err := workflow.ExecuteActivity(t.callOptions(ctx, "Preflight: identity and organization of "+t.in.Organization.Name), a.Preflight, org).Get(ctx, &id); err != nil {
		return err
	}
	t.record(ctx, "preflight", nil, fmt.Sprintf("caller %s in management account %s of %s (feature set %s)", id.ARN, id.ManagementAccountID, id.OrganizationID, id.FeatureSet))

	t.setPhase(ctx, PhasePlanning)
	var cur State
	if err := workflow.ExecuteActivity(t.callOptions(ctx, "Read CloudTrail integration of "+t.in.Organization.Name), a.ReadState, org).Get(ctx, &cur); err != nil {
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

func (t *target) enable(ctx workflow.Context, org activities.OrgInput, cur State) error {
	plan := PlanEnable(cur, t.in.Trail.Name, t.in.Trail.Bucket)
	if t.planned(ctx, plan) {
		return nil
	}
	if done, err := t.approvalGate(ctx); done || err != nil {
		return err
	}
	t.setPhase(ctx, PhaseApplying)
	if plan.Has(StepEnableTrustedAccess) {
		if err := t.mutate(ctx, "Enable trusted access for cloudtrail.amazonaws.com", a.EnableTrustedAccess, org, nil); err != nil {
			return err
		}
	}
	if plan.Has(StepCreateRole) {
		var created bool
		if err := t.mutate(ctx, "Create service-linked role AWSServiceRoleForCloudTrail", a.EnsureServiceLinkedRole, org, &created); err != nil {
			return err
		}
	}
	var trailARNs []string
	if t.in.Trail.Name != "" {
		trail := activities.TrailInput{OrgInput: org, OrganizationID: cur.OrganizationID, ManagementAccountID: cur.ManagementAccountID}
		if plan.Has(StepBucketPolicy) {
			if err := t.mutate(ctx, "Organization-trail policy on bucket "+t.in.Trail.Bucket, a.EnsureTrailBucket, trail, nil); err != nil {
				return err
			}
		}
		if cur.Trail != nil {
			trailARNs = []string{cur.Trail.ARN}
		}
		if plan.Has(StepCreateTrail) || plan.Has(StepConvertTrail) || plan.Has(StepStartLogging) {
			var ts TrailState
			if err := t.mutate(ctx, "Organization trail "+t.in.Trail.Name+" created and logging", a.EnsureOrganizationTrail, trail, &ts); err != nil {
				return err
			}
			trailARNs = []string{ts.ARN}
		}
	}
	return t.verify(ctx, a.VerifyEnabled, activities.VerifyInput{OrgInput: org, TrailARNs: trailARNs}, PhaseSucceeded)
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
	if done, err := t.approvalGate(ctx); done || err != nil {
		return err
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
	if t.planned(ctx, plan) {
		return nil
	}
	if done, err := t.approvalGate(ctx); done || err != nil {
		return err
	}
	t.setPhase(ctx, PhaseApplying)
	if err := t.mutate(ctx, "Re-enable trusted access for cloudtrail.amazonaws.com", a.EnableTrustedAccess, org, nil); err != nil {
		return err
	}
	return t.verify(ctx, a.VerifyEnabled, activities.VerifyInput{OrgInput: org, TrailARNs: inv.TrailARNs()}, PhaseRolledBack)
}

// planned records the plan and reports whether there is nothing to do, in
// which case the target ends as such.
func (t *target) planned(ctx workflow.Context, plan Plan) bool {
	t.progress.Plan = &plan
	if plan.Empty() {
		t.record(ctx, "plan", nil, "nothing to do: AWS already shows the desired state")
		t.setPhase(ctx, PhaseNoChange)
		return true
	}
	steps := make([]string, 0, len(plan.Steps))
	for _, s := range plan.Steps {
		steps = append(steps, s.Description)
	}
	t.record(ctx, "plan", nil, strings.Join(steps, "; "))
	return false
}

// inventory takes the impact inventory of a disable and records it.
func (t *target) inventory(ctx workflow.Context, org activities.OrgInput) (Inventory, error) {
	var inv Inventory
	if err := workflow.ExecuteActivity(t.callOptions(ctx, "Impact inventory of "+t.in.Organization.Name), a.TakeInventory, org).Get(ctx, &inv); err != nil {
		return inv, err
	}
	t.progress.Inventory = &inv
	t.record(ctx, "inventory", nil, describeInventory(inv))
	return inv, nil
}

// mutate runs one mutation and records it.
func (t *target) mutate(ctx workflow.Context, summary string, activity, input, result any) error {
	err := workflow.ExecuteActivity(t.callOptions(ctx, summary), activity, input).Get(ctx, result)
	if err != nil {
		return err
	}
	t.record(ctx, "mutation", nil, summary)
	return nil
}

// verify reads AWS back until it shows the result, records the evidence and
// ends the target in the final phase.
func (t *target) verify(ctx workflow.Context, activity any, in activities.VerifyInput, final Phase) error {
	t.setPhase(ctx, PhaseVerifying)
	var ev Evidence
	if err := workflow.ExecuteActivity(t.verifyOptions(ctx), activity, in).Get(ctx, &ev); err != nil {
		return err
	}
	t.progress.Evidence = &ev
	detail := fmt.Sprintf("after %d read(s): trusted access %s, service-linked role %s", ev.Checks, onOff(ev.TrustedAccess), presence(ev.ServiceLinkedRole))
	for _, tr := range ev.Trails {
		detail += fmt.Sprintf(", trail %s logging %t", tr.ARN, tr.IsLogging)
	}
	for _, n := range ev.Notes {
		detail += "; " + n
	}
	t.record(ctx, "verified", nil, detail)
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
	if p != PhaseAwaitingApproval && p != PhaseAwaitingCleanup {
		t.progress.Awaiting = nil
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, PhaseKey.ValueSet(string(p)))
	_ = workflow.UpsertMemo(ctx, map[string]any{"phase": string(p), "organization": t.in.Organization.Name, "action": string(t.in.Action)})
	workflow.SetCurrentDetails(ctx, t.details())
}

// details is the workflow's current details in the UI, in Markdown.
func (t *target) details() string {
	s := fmt.Sprintf("**%s** of trusted access for CloudTrail in **%s**: %s", t.in.Action, t.in.Organization.Name, t.progress.Phase)
	if aw := t.progress.Awaiting; aw != nil {
		s += fmt.Sprintf("\n\nAwaiting %s from %s since %s (expires %s)", aw.What, strings.Join(aw.Who, ", "), aw.Since.Format(time.RFC3339), aw.Expires.Format(time.RFC3339))
	}
	return s
}

// report tells the parent change, if any, that the target waits at a gate;
// the parent learns outcomes from the child's result.
func (t *target) report(ctx workflow.Context, message string) {
	if t.in.ParentWorkflowID == "" {
		return
	}
	r := TargetReport{Organization: t.in.Organization.Name, Phase: t.progress.Phase, Plan: t.progress.Plan, Inventory: t.progress.Inventory, Message: message}
	// A parent that has gone is no reason to stop: the error is dropped.
	_ = workflow.SignalExternalWorkflow(ctx, t.in.ParentWorkflowID, "", SignalTargetReport, r).Get(ctx, nil)
}

// record appends an entry to the change record.
func (t *target) record(ctx workflow.Context, kind string, people []string, detail string) {
	t.progress.Record = append(t.progress.Record, RecordEntry{
		At: workflow.Now(ctx).UTC(), Organization: t.in.Organization.Name, Kind: kind, People: people, Detail: detail,
	})
}

// callOptions are the options of every AWS call but verification: each
// attempt is short, retries back off up to a minute, and the call gives up
// after half an hour (a non-retryable error ends it at once).
func (t *target) callOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:                summary,
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 30 * time.Minute,
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

func describeInventory(inv Inventory) string {
	if inv.Empty() {
		return "nothing depends on trusted access: no organization trails, organization event data stores or delegated administrators"
	}
	var parts []string
	for _, tr := range inv.OrganizationTrails {
		s := fmt.Sprintf("organization trail %s (home %s, logging %t", tr.ARN, tr.HomeRegion, tr.IsLogging)
		if tr.OwnerHint != "" {
			s += ", looks owned by " + tr.OwnerHint
		}
		parts = append(parts, s+")")
	}
	if len(inv.OrganizationTrails) > 0 {
		parts = append(parts, "disabling stops these trails for member accounts")
	}
	for _, e := range inv.EventDataStores {
		parts = append(parts, "organization event data store "+e)
	}
	if len(inv.DelegatedAdministrators) > 0 {
		parts = append(parts, "CloudTrail delegated administrators "+strings.Join(inv.DelegatedAdministrators, ", "))
	}
	return strings.Join(parts, "; ")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func presence(b bool) string {
	if b {
		return "present"
	}
	return "absent"
}

// allowed reports whether a person is on an allow-list; an empty list allows
// everyone (the two-person rule still applies).
func allowed(list []string, who string) bool {
	return len(list) == 0 || slices.Contains(list, who)
}
