package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// registerHandlers sets up the progress query, the people's updates (with
// validators that refuse without leaving a trace in history) and the
// parent's decisions.
func (t *target) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (TargetProgress, error) {
		return t.progress, nil
	}); err != nil {
		return err
	}
	if err := setUpdateHandlers(ctx, []updateHandler{
		{UpdateApprove, t.approve, t.validateApprove, "Approve the change at its approval gate"},
		{UpdateReject, t.reject, t.validateReject, "Reject the change at a gate; nothing is changed"},
		{UpdateConfirmCleanup, t.confirmCleanup, t.validateConfirmCleanup, "The CloudTrail administrator confirms cleanup before a disable"},
		{UpdateCancel, t.cancel, t.validateCancel, "Cancel the change before any mutation"},
	}); err != nil {
		return err
	}
	decisions := workflow.GetSignalChannel(ctx, SignalParentDecision)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d ParentDecision
			decisions.Receive(ctx, &d)
			t.fromParent(ctx, d)
		}
	})
	return nil
}

// fromParent applies a decision the parent change took and validated.
func (t *target) fromParent(ctx workflow.Context, d ParentDecision) {
	switch d.Kind {
	case UpdateApprove:
		t.released = true
		for _, by := range d.By {
			if !slices.ContainsFunc(t.progress.Approvals, func(x Decision) bool { return x.By == by }) {
				t.progress.Approvals = append(t.progress.Approvals, Decision{By: by, Comment: d.Comment})
			}
		}
		t.record(ctx, "approved", d.By, "released by the change"+comment(d.Comment))
	case UpdateReject:
		t.rejected = &Decision{By: strings.Join(d.By, ", "), Comment: d.Comment}
		t.record(ctx, "rejected", d.By, "rejected at the change's gate"+comment(d.Comment))
	case UpdateConfirmCleanup:
		c := d.Cleanup
		t.cleanup = &c
		t.record(ctx, "cleanup-confirmed", []string{c.By}, cleanupDetail(c))
	case UpdateCancel:
		t.cancelled = &Control{By: strings.Join(d.By, ", "), Reason: d.Comment}
		t.record(ctx, "cancelled", d.By, "cancelled by the change"+comment(d.Comment))
	case DecisionExpire:
		t.expired = &d
	}
}

func (t *target) heldByParent() error {
	if t.in.ParentWorkflowID != "" {
		return fmt.Errorf("organization %s is part of change %s: decide on the change, not on one organization", t.in.Organization.Name, t.in.ChangeID)
	}
	return nil
}

func (t *target) validateApprove(d Decision) error {
	if err := t.heldByParent(); err != nil {
		return err
	}
	if t.progress.Phase != PhaseAwaitingApproval {
		return fmt.Errorf("change %s is %s in organization %s, not awaiting approval", t.in.ChangeID, t.progress.Phase, t.in.Organization.Name)
	}
	return checkApprover(t.in.Policy, t.in.Requester, t.progress.Approvals, d.By)
}

// checkApprover applies the approval policy to one person: on the list, not
// the requester (two-person rule), not approving twice.
func checkApprover(p GatePolicy, requester string, approvals []Decision, by string) error {
	switch {
	case by == "":
		return fmt.Errorf("say who approves (--as)")
	case by == requester:
		return fmt.Errorf("%s requested this change and cannot approve it: another approver must (two-person rule)", by)
	case !allowed(p.Approvers, by):
		return fmt.Errorf("%s is not an approver (approvals.approvers: %s)", by, strings.Join(p.Approvers, ", "))
	case slices.ContainsFunc(approvals, func(x Decision) bool { return x.By == by }):
		return fmt.Errorf("%s has already approved this change: another approver must", by)
	}
	return nil
}

func (t *target) approve(ctx workflow.Context, d Decision) (TargetProgress, error) {
	d.Comment = strings.TrimSpace(d.Comment)
	t.progress.Approvals = append(t.progress.Approvals, d)
	t.record(ctx, "approved", []string{d.By}, fmt.Sprintf("approval %d of %d", len(t.progress.Approvals), t.in.Policy.RequiredApprovals)+comment(d.Comment))
	return t.progress, nil
}

func (t *target) validateReject(d Decision) error {
	if err := t.heldByParent(); err != nil {
		return err
	}
	switch t.progress.Phase {
	case PhaseAwaitingApproval, PhaseAwaitingCleanup:
	default:
		return fmt.Errorf("change %s is %s in organization %s: only a waiting gate can be rejected", t.in.ChangeID, t.progress.Phase, t.in.Organization.Name)
	}
	if d.By == "" {
		return fmt.Errorf("say who rejects (--as)")
	}
	if !allowed(t.in.Policy.Approvers, d.By) && !slices.Contains(t.in.Policy.CloudTrailAdmins, d.By) {
		return fmt.Errorf("%s may not reject this change: only approvers and CloudTrail administrators may", d.By)
	}
	return nil
}

func (t *target) reject(ctx workflow.Context, d Decision) (TargetProgress, error) {
	t.rejected = &d
	t.record(ctx, "rejected", []string{d.By}, "rejected"+comment(d.Comment))
	return t.progress, nil
}

func (t *target) validateConfirmCleanup(c CleanupConfirmation) error {
	if err := t.heldByParent(); err != nil {
		return err
	}
	if t.progress.Phase != PhaseAwaitingCleanup {
		return fmt.Errorf("change %s is %s in organization %s, not awaiting cleanup confirmation", t.in.ChangeID, t.progress.Phase, t.in.Organization.Name)
	}
	if c.By == "" {
		return fmt.Errorf("say who confirms (--as)")
	}
	if !slices.Contains(t.in.Policy.CloudTrailAdmins, c.By) {
		return fmt.Errorf("%s is not a CloudTrail administrator (approvals.cloudtrail_admins: %s)", c.By, strings.Join(t.in.Policy.CloudTrailAdmins, ", "))
	}
	return nil
}

func (t *target) confirmCleanup(ctx workflow.Context, c CleanupConfirmation) (TargetProgress, error) {
	t.cleanup = &c
	t.record(ctx, "cleanup-confirmed", []string{c.By}, cleanupDetail(c))
	return t.progress, nil
}

func (t *target) validateCancel(c Control) error {
	if err := t.heldByParent(); err != nil {
		return err
	}
	if c.By == "" {
		return fmt.Errorf("say who cancels (--as)")
	}
	if c.By != t.in.Requester && !allowed(t.in.Policy.Approvers, c.By) {
		return fmt.Errorf("%s may not cancel this change: only the requester and approvers may", c.By)
	}
	switch p := t.progress.Phase; {
	case p.Final():
		return fmt.Errorf("change %s has already ended in organization %s (%s)", t.in.ChangeID, t.in.Organization.Name, p)
	case p == PhaseApplying || p == PhaseVerifying:
		return fmt.Errorf("change %s is %s in organization %s: mutations are under way; wait for the end, then roll back", t.in.ChangeID, p, t.in.Organization.Name)
	}
	return nil
}

func (t *target) cancel(ctx workflow.Context, c Control) (TargetProgress, error) {
	t.cancelled = &c
	t.record(ctx, "cancelled", []string{c.By}, "cancelled"+comment(c.Reason))
	return t.progress, nil
}

// approvalGate waits until enough approvers approved. done is true when the
// target ended at the gate (rejected, cancelled or expired).
func (t *target) approvalGate(ctx workflow.Context) (done bool, err error) {
	need := t.in.Policy.RequiredApprovals
	if t.in.ParentWorkflowID != "" {
		return t.gate(ctx, PhaseAwaitingApproval, "release by the change (its approval, window and concurrency)",
			[]string{"change " + t.in.ChangeID}, func() bool { return t.released })
	}
	return t.gate(ctx, PhaseAwaitingApproval, fmt.Sprintf("%d approval(s)", need), t.in.Policy.Approvers,
		func() bool { return len(t.progress.Approvals) >= max(need, 1) })
}

// cleanupGate waits for the CloudTrail administrator's cleanup confirmation,
// then takes the inventory again: when organization trails remain, the
// confirmation must acknowledge that member-account logging stops, or the
// gate keeps waiting and says why.
func (t *target) cleanupGate(ctx workflow.Context, org activities.OrgInput) (done bool, err error) {
	what := "cleanup confirmation from the CloudTrail administrator"
	started := workflow.Now(ctx)
	for {
		done, err := t.gateSince(ctx, started, PhaseAwaitingCleanup, what, t.in.Policy.CloudTrailAdmins, func() bool { return t.cleanup != nil })
		if done || err != nil {
			return done, err
		}
		inv, err := t.inventory(ctx, org)
		if err != nil {
			return false, err
		}
		if len(inv.OrganizationTrails) == 0 || t.cleanup.AcknowledgeMemberLoggingStops {
			return false, nil
		}
		what = fmt.Sprintf("cleanup confirmation that acknowledges that member-account logging stops: %d organization trail(s) remain (%s); confirm again with --acknowledge-member-logging-stops",
			len(inv.OrganizationTrails), strings.Join(inv.TrailARNs(), ", "))
		t.record(ctx, "gate", []string{t.cleanup.By}, "confirmation not enough: "+what)
		t.cleanup = nil
	}
}

func (t *target) gate(ctx workflow.Context, phase Phase, what string, who []string, passed func() bool) (bool, error) {
	return t.gateSince(ctx, workflow.Now(ctx), phase, what, who, passed)
}

// gateSince waits, durably, until passed reports true, the change is
// rejected or cancelled, or the gate expires approvals.timeout after it
// opened. It reminds people every approvals.reminder_every.
func (t *target) gateSince(ctx workflow.Context, since time.Time, phase Phase, what string, who []string, passed func() bool) (bool, error) {
	policy := t.in.Policy
	expires := since.Add(policy.Timeout)
	t.progress.Awaiting = &Awaiting{What: what, Since: since, Expires: expires, Who: who}
	t.setPhase(ctx, phase)
	workflow.SetCurrentDetails(ctx, t.details())
	t.record(ctx, "gate", who, "awaiting "+what)
	t.report(ctx, what)
	decided := func() bool { return passed() || t.rejected != nil || t.cancelled != nil }
	quiet := false
	if t.in.ParentWorkflowID != "" && phase == PhaseAwaitingApproval {
		quiet = workflow.GetVersion(ctx, versionQuietReleaseGate, workflow.DefaultVersion, 1) == 1
		if workflow.GetVersion(ctx, versionReleaseHeldByChange, workflow.DefaultVersion, 1) == 1 {
			return t.awaitRelease(ctx, decided)
		}
	}
	for !decided() {
		left := expires.Sub(workflow.Now(ctx))
		if left <= 0 {
			t.record(ctx, "expired", nil, fmt.Sprintf("no decision within %s: the change ends as expired and nothing was changed", policy.Timeout))
			t.setPhase(ctx, PhaseExpired)
			return true, nil
		}
		wait := left
		if !quiet && policy.ReminderEvery > 0 && policy.ReminderEvery < wait {
			wait = policy.ReminderEvery
		}
		ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout:      wait,
			TimerOptions: workflow.TimerOptions{Summary: "Awaiting " + what},
		}, decided)
		if err != nil {
			return true, err
		}
		if !ok && !quiet && workflow.Now(ctx).Before(expires) {
			t.remind(ctx, what, who, since, expires)
		}
	}
	return t.gateDecided(ctx), nil
}

// gateDecided ends the target when the gate's decision ends it, and reports
// whether it did.
func (t *target) gateDecided(ctx workflow.Context) bool {
	switch {
	case t.rejected != nil:
		t.setPhase(ctx, PhaseRejected)
		return true
	case t.cancelled != nil:
		t.setPhase(ctx, PhaseCancelled)
		return true
	case t.expired != nil:
		t.record(ctx, "expired", t.expired.By, "the change's wave expired unapproved"+comment(t.expired.Comment)+": nothing was changed")
		t.setPhase(ctx, PhaseExpired)
		return true
	}
	t.progress.Awaiting = nil
	return false
}

// awaitRelease waits, without an expiry of its own, until the change
// releases the target or ends it (rejected, cancelled or expired): the
// change holds the wave's gate, its reminders and its expiry.
func (t *target) awaitRelease(ctx workflow.Context, decided func() bool) (bool, error) {
	t.progress.Awaiting.Expires = time.Time{}
	if err := workflow.Await(ctx, func() bool { return decided() || t.expired != nil }); err != nil {
		return true, err
	}
	return t.gateDecided(ctx), nil
}

// remind sends a reminder; a reminder that cannot be delivered is recorded,
// never fatal.
func (t *target) remind(ctx workflow.Context, what string, who []string, since, expires time.Time) {
	t.record(ctx, "reminder", who, sendReminder(ctx, t.in.Policy, activities.Reminder{
		ChangeID: t.in.ChangeID, Organization: t.in.Organization.Name, Action: string(t.in.Action),
		Awaiting: what, Who: who, Since: since, Expires: expires,
		Message: fmt.Sprintf("change %s (%s in %s) has awaited %s since %s; it expires at %s",
			t.in.ChangeID, t.in.Action, t.in.Organization.Name, what, since.Format(time.RFC3339), expires.Format(time.RFC3339)),
	}))
}

// sendReminder runs the Notify activity and says, for the record, what
// became of the reminder.
func sendReminder(ctx workflow.Context, p GatePolicy, r activities.Reminder) string {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:             "Remind " + strings.Join(r.Who, ", "),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 5},
	})
	if err := workflow.ExecuteActivity(actx, a.Notify, activities.NotifyInput{WebhookURL: p.WebhookURL, Reminder: r}).Get(ctx, nil); err != nil {
		return "reminder not delivered: " + err.Error()
	}
	return "reminded: " + r.Message
}

func cleanupDetail(c CleanupConfirmation) string {
	s := "CloudTrail-side cleanup confirmed"
	if c.AcknowledgeMemberLoggingStops {
		s += ", acknowledging that organization trails stop logging for member accounts"
	}
	return s + comment(c.Comment)
}

func comment(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}

// updateHandler is an update a workflow takes, with the validator that
// refuses it without a trace in history.
type updateHandler struct {
	name      string
	handler   any
	validator any
	desc      string
}

func setUpdateHandlers(ctx workflow.Context, handlers []updateHandler) error {
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, workflow.UpdateHandlerOptions{
			Validator: h.validator, Description: h.desc,
		}); err != nil {
			return fmt.Errorf("register update %s: %w", h.name, err)
		}
	}
	return nil
}
