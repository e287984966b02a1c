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
	"github.com/trailgate/trailgate/config"
)

// historyBudget is the history length past which a change continues as new
// at the next wave boundary, well under Temporal's limits. Tests lower it.
var historyBudget = 20000

// change is a rollout while its workflow runs.
type change struct {
	in ChangeInput
	p  ChangeProgress
	// index finds an organization's summary in p.Targets.
	index map[string]int
	// running counts the targets released and not yet ended.
	running int
	// news counts what targets told the change, so that waits can wake.
	news int

	rejected  *Decision
	cancelled *Control
	// expired is set when the wave's approval gate outlived approvals.timeout.
	expired bool
}

// ChangeWorkflow rolls one action out over many organizations: wave by wave,
// each organization a child TargetWorkflow; approvers see a wave's plans
// before they decide; cleanup confirmations are forwarded; mutations start
// only inside maintenance windows, a few at a time; a failure budget halts
// the change; pause, resume and cancel steer it.
func ChangeWorkflow(ctx workflow.Context, in ChangeInput) (ChangeProgress, error) {
	if err := in.Validate(); err != nil {
		return ChangeProgress{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	c, err := newChange(ctx, in)
	if err != nil {
		return c.p, err
	}
	if err := c.registerHandlers(ctx); err != nil {
		return c.p, err
	}
	for c.p.CurrentWave <= len(c.p.Waves) {
		c.runWave(ctx)
		if c.p.Phase.Final() {
			break
		}
		c.p.CurrentWave++
		if c.p.CurrentWave <= len(c.p.Waves) && c.historyFull(ctx) {
			return c.p, c.continueAsNew(ctx)
		}
	}
	c.finish(ctx)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	if c.p.Phase == PhaseFailed || c.p.Phase == PhaseHalted {
		return c.p, temporal.NewApplicationError(fmt.Sprintf("change %s %s: %d organization(s) failed", in.ChangeID, c.p.Phase, c.p.Failed), ErrChangeFailed, c.p)
	}
	return c.p, nil
}

func newChange(ctx workflow.Context, in ChangeInput) (*change, error) {
	c := &change{in: in, index: map[string]int{}}
	if in.Carried != nil {
		c.p = *in.Carried
		c.in.Carried = nil
	} else {
		sizes, _ := PlanWaves(in.Waves, len(in.Organizations))
		c.p = ChangeProgress{
			ChangeID: in.ChangeID, Action: in.Action, Requester: in.Requester, Reason: in.Reason,
			Phase: PhasePending, CurrentWave: 1, FailureBudget: in.FailureBudget,
			Waves: []WaveProgress{}, Targets: []TargetSummary{}, Record: []RecordEntry{},
		}
		next := 0
		for w, size := range sizes {
			wave := WaveProgress{Number: w + 1, NeedsApproval: w == 0 || in.ApproveEveryWave, Approvals: []Decision{}, Phase: PhasePending}
			for _, org := range in.Organizations[next : next+size] {
				wave.Organizations = append(wave.Organizations, org.Name)
				c.p.Targets = append(c.p.Targets, TargetSummary{
					Organization: org.Name, WorkflowID: TargetWorkflowID(in.ChangeID, org.Name), Wave: w + 1, Phase: PhasePending,
				})
			}
			next += size
			c.p.Waves = append(c.p.Waves, wave)
		}
		detail := fmt.Sprintf("%s requested %s of trusted access for CloudTrail on %d organization(s) in %d wave(s)", in.Requester, in.Action, len(in.Organizations), len(sizes))
		if in.Reason != "" {
			detail += ": " + in.Reason
		}
		c.record(ctx, "", "requested", []string{in.Requester}, detail)
	}
	for i, t := range c.p.Targets {
		c.index[t.Organization] = i
	}
	err := workflow.UpsertTypedSearchAttributes(ctx, ChangeIDKey.ValueSet(in.ChangeID), ActionKey.ValueSet(string(in.Action)), PhaseKey.ValueSet(string(c.p.Phase)))
	return c, err
}

// runWave runs the current wave to its end.
func (c *change) runWave(ctx workflow.Context) {
	wave := &c.p.Waves[c.p.CurrentWave-1]
	wave.Phase = PhasePreflight
	c.setPhase(ctx, PhasePreflight)
	c.record(ctx, "", "wave", nil, fmt.Sprintf("wave %d of %d starts: %s", wave.Number, len(c.p.Waves), strings.Join(wave.Organizations, ", ")))
	for _, name := range wave.Organizations {
		c.startTarget(ctx, name)
	}

	// Every target plans, and for a disable waits for its cleanup
	// confirmation, until it stands at its approval gate or has ended.
	for {
		seen := c.news
		c.updateAwaitingCleanup(ctx, wave)
		if c.cancelled != nil || c.rejected != nil || c.waveAll(wave, func(t TargetSummary) bool {
			return t.Phase == PhaseAwaitingApproval || t.Phase.Final()
		}) {
			break
		}
		_ = workflow.Await(ctx, func() bool { return c.news != seen || c.cancelled != nil || c.rejected != nil })
	}
	if wave.NeedsApproval && c.cancelled == nil && c.rejected == nil && c.waveAny(wave, func(t TargetSummary) bool { return t.Phase == PhaseAwaitingApproval }) {
		c.p.Awaiting = &Awaiting{
			What: fmt.Sprintf("%d approval(s) of wave %d", c.in.Policy.RequiredApprovals, wave.Number), Since: workflow.Now(ctx),
			Expires: workflow.Now(ctx).Add(c.in.Policy.Timeout), Who: c.in.Policy.Approvers,
		}
		wave.Phase = PhaseAwaitingApproval
		c.setPhase(ctx, PhaseAwaitingApproval)
		c.record(ctx, "", "gate", c.in.Policy.Approvers, fmt.Sprintf("wave %d awaits %s", wave.Number, c.p.Awaiting.What))
		c.awaitApproval(ctx, wave)
		c.p.Awaiting = nil
	}
	switch {
	case c.rejected != nil:
		c.tellWave(ctx, wave, ParentDecision{Kind: UpdateReject, By: []string{c.rejected.By}, Comment: c.rejected.Comment})
	case c.expired:
		c.tellWave(ctx, wave, ParentDecision{Kind: DecisionExpire, Comment: fmt.Sprintf("no decision within %s", c.in.Policy.Timeout)})
	case c.cancelled != nil:
		c.tellWave(ctx, wave, ParentDecision{Kind: UpdateCancel, By: []string{c.cancelled.By}, Comment: c.cancelled.Reason})
	default:
		c.release(ctx, wave)
	}
	wave.Phase = PhaseApplying
	_ = workflow.Await(ctx, func() bool { return c.waveAll(wave, func(t TargetSummary) bool { return t.Phase.Final() }) })
	wave.Phase = PhaseSucceeded
	switch {
	case c.rejected != nil:
		c.setPhase(ctx, PhaseRejected)
	case c.cancelled != nil:
		c.setPhase(ctx, PhaseCancelled)
	case c.expired:
		c.setPhase(ctx, PhaseExpired)
	case c.p.Failed > c.in.FailureBudget:
		c.record(ctx, "", "halted", nil, fmt.Sprintf("%d organization(s) failed, more than the failure budget of %d: the change halts", c.p.Failed, c.in.FailureBudget))
		c.setPhase(ctx, PhaseHalted)
	}
	if c.p.Phase.Final() {
		wave.Phase = c.p.Phase
	}
	c.record(ctx, "", "wave", nil, fmt.Sprintf("wave %d ends: %s", wave.Number, c.waveOutcome(wave)))
}

// awaitApproval waits until the wave has its approvals, the change is
// rejected or cancelled, or every target of the wave has ended (their gates
// expire on their own). It reminds the approvers every
// approvals.reminder_every.
func (c *change) awaitApproval(ctx workflow.Context, wave *WaveProgress) {
	decided := func() bool {
		return len(wave.Approvals) >= c.in.Policy.RequiredApprovals || c.rejected != nil || c.cancelled != nil ||
			c.waveAll(wave, func(t TargetSummary) bool { return t.Phase.Final() })
	}
	every := c.in.Policy.ReminderEvery
	remind := workflow.GetVersion(ctx, versionWaveReminders, workflow.DefaultVersion, 1) == 1 && every > 0
	expire := workflow.GetVersion(ctx, versionWaveExpiry, workflow.DefaultVersion, 1) == 1
	if !remind && !expire {
		_ = workflow.Await(ctx, decided)
		return
	}
	aw := *c.p.Awaiting
	for !decided() {
		wait := every
		if expire {
			left := aw.Expires.Sub(workflow.Now(ctx))
			if left <= 0 {
				c.expired = true
				c.record(ctx, "", "expired", nil, fmt.Sprintf("wave %d had no decision within %s: its organizations end as expired, with nothing changed", wave.Number, c.in.Policy.Timeout))
				return
			}
			if !remind || left < wait {
				wait = left
			}
		}
		ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "Awaiting " + aw.What},
		}, decided)
		if err != nil {
			return
		}
		if !remind {
			continue
		}
		// At expiry the targets end on their own; nobody needs a reminder.
		if !ok && workflow.Now(ctx).Before(aw.Expires) {
			c.record(ctx, "", "reminder", aw.Who, sendReminder(ctx, c.in.Policy, activities.Reminder{
				ChangeID: c.in.ChangeID, Action: string(c.in.Action), Awaiting: aw.What, Who: aw.Who, Since: aw.Since, Expires: aw.Expires,
				Message: fmt.Sprintf("change %s (%s on %s) has awaited %s since %s", c.in.ChangeID, c.in.Action,
					strings.Join(wave.Organizations, ", "), aw.What, aw.Since.Format(time.RFC3339)),
			}))
		}
	}
}

// release lets the wave's targets past their approval gates, at most
// Concurrency at a time, only inside maintenance windows, never while the
// change is paused, and no more once the failure budget is spent.
func (c *change) release(ctx workflow.Context, wave *WaveProgress) {
	approvers := make([]string, 0, len(wave.Approvals))
	for _, d := range wave.Approvals {
		approvers = append(approvers, d.By)
	}
	comment := fmt.Sprintf("wave %d approved by %s", wave.Number, strings.Join(approvers, ", "))
	if !wave.NeedsApproval {
		comment = fmt.Sprintf("wave %d needs no approval under the change's policy", wave.Number)
	}
	limit := c.in.Concurrency
	if limit <= 0 {
		limit = len(wave.Organizations)
	}
	for _, name := range wave.Organizations {
		i := c.index[name]
		if c.p.Targets[i].Phase != PhaseAwaitingApproval {
			continue
		}
		for {
			_ = workflow.Await(ctx, func() bool {
				return c.cancelled != nil || c.p.Failed > c.in.FailureBudget || (c.p.Paused == nil && c.running < limit)
			})
			if c.cancelled != nil || c.p.Failed > c.in.FailureBudget {
				c.tellWave(ctx, wave, ParentDecision{Kind: UpdateCancel, By: []string{"trailgate"}, Comment: "the change stopped before this organization's turn"})
				return
			}
			open := NextOpen(c.in.Windows, workflow.Now(ctx))
			if !open.After(workflow.Now(ctx)) {
				break
			}
			c.p.Awaiting = &Awaiting{What: "the next maintenance window", Since: workflow.Now(ctx), Expires: open, Who: []string{"the clock"}}
			c.setPhase(ctx, PhaseAwaitingWindow)
			c.record(ctx, "", "gate", nil, "outside every maintenance window: waiting until "+open.Format(time.RFC3339))
			_, _ = workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout: open.Sub(workflow.Now(ctx)), TimerOptions: workflow.TimerOptions{Summary: "Maintenance window opens " + open.Format(time.RFC3339)},
			}, func() bool { return c.cancelled != nil || c.p.Paused != nil })
			c.p.Awaiting = nil
		}
		c.setPhase(ctx, PhaseApplying)
		c.running++
		c.p.Targets[i].Phase = PhaseApplying
		c.tell(ctx, name, ParentDecision{Kind: UpdateApprove, By: approvers, Comment: comment, At: workflow.Now(ctx)})
	}
}

// startTarget starts one organization's child workflow and follows it to
// its end.
func (c *change) startTarget(ctx workflow.Context, name string) {
	i := c.index[name]
	org := c.in.Organizations[slices.IndexFunc(c.in.Organizations, func(o config.Organization) bool { return o.Name == name })]
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        c.p.Targets[i].WorkflowID,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		StaticSummary:     fmt.Sprintf("%s of CloudTrail trusted access in %s", c.in.Action, name),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			ChangeIDKey.ValueSet(c.in.ChangeID), ActionKey.ValueSet(string(c.in.Action)),
			OrganizationKey.ValueSet(name), PhaseKey.ValueSet(string(PhasePending))),
	})
	trail := c.in.Trail
	if c.in.Action != ActionEnable {
		trail = config.Trail{}
	}
	f := workflow.ExecuteChildWorkflow(cctx, TargetWorkflowName, TargetInput{
		ChangeID: c.in.ChangeID, Action: c.in.Action, Organization: org, Trail: trail, Policy: c.in.Policy,
		Requester: c.in.Requester, Reason: c.in.Reason, ParentWorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		var res TargetProgress
		err := f.Get(ctx, &res)
		c.targetEnded(ctx, name, res, err)
	})
}

// targetEnded takes a child's result into the change.
func (c *change) targetEnded(ctx workflow.Context, name string, res TargetProgress, err error) {
	c.news++
	t := &c.p.Targets[c.index[name]]
	if t.Phase == PhaseApplying || t.Phase == PhaseVerifying {
		c.running--
	}
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			_ = appErr.Details(&res)
		}
		res.Phase = PhaseFailed
		t.Error = err.Error()
		if res.LastError != "" {
			t.Error = res.LastError
		}
		c.p.Failed++
	}
	t.Phase = res.Phase
	if res.Plan != nil {
		t.Plan = res.Plan
	}
	if res.Inventory != nil {
		t.Inventory = res.Inventory
	}
	t.Evidence = res.Evidence
	detail := string(t.Phase)
	if t.Error != "" {
		detail += ": " + t.Error
	}
	c.record(ctx, name, "outcome", nil, detail)
}

// onReport takes a child's report of where it stands.
func (c *change) onReport(r TargetReport) {
	i, ok := c.index[r.Organization]
	if !ok || c.p.Targets[i].Phase.Final() {
		return
	}
	c.news++
	t := &c.p.Targets[i]
	t.Phase, t.Message = r.Phase, r.Message
	if r.Plan != nil {
		t.Plan = r.Plan
	}
	if r.Inventory != nil {
		t.Inventory = r.Inventory
	}
}

// updateAwaitingCleanup shows, while targets of the wave await cleanup
// confirmation, what the change awaits: what each target asks for, which
// may be an acknowledgement that member-account logging stops.
func (c *change) updateAwaitingCleanup(ctx workflow.Context, wave *WaveProgress) {
	var waiting []string
	asks := map[string][]string{}
	var order []string
	for _, name := range wave.Organizations {
		t := c.p.Targets[c.index[name]]
		if t.Phase != PhaseAwaitingCleanup {
			continue
		}
		waiting = append(waiting, name)
		ask := t.Message
		if ask == "" {
			ask = "cleanup confirmation from the CloudTrail administrator"
		}
		if _, ok := asks[ask]; !ok {
			order = append(order, ask)
		}
		asks[ask] = append(asks[ask], name)
	}
	if len(waiting) == 0 {
		if c.p.Phase == PhaseAwaitingCleanup {
			c.p.Awaiting = nil
			wave.Phase = PhasePlanning
			c.setPhase(ctx, PhasePlanning)
		}
		return
	}
	parts := make([]string, 0, len(order))
	for _, ask := range order {
		parts = append(parts, ask+" for "+strings.Join(asks[ask], ", "))
	}
	what := strings.Join(parts, "; ")
	wave.Phase = PhaseAwaitingCleanup
	if c.p.Phase != PhaseAwaitingCleanup {
		c.p.Awaiting = &Awaiting{
			What: what, Since: workflow.Now(ctx), Expires: workflow.Now(ctx).Add(c.in.Policy.Timeout), Who: c.in.Policy.CloudTrailAdmins,
		}
		c.setPhase(ctx, PhaseAwaitingCleanup)
		return
	}
	c.p.Awaiting.What = what
}

// finish sets the change's final phase from its targets.
func (c *change) finish(ctx workflow.Context) {
	if !c.p.Phase.Final() {
		all := func(ok func(Phase) bool) bool {
			return !slices.ContainsFunc(c.p.Targets, func(t TargetSummary) bool { return !ok(t.Phase) })
		}
		switch {
		case c.p.Failed > 0:
			c.setPhase(ctx, PhaseFailed)
		case all(func(p Phase) bool { return p == PhaseNoChange }):
			c.setPhase(ctx, PhaseNoChange)
		case all(Phase.Successful):
			if c.in.Action == ActionRollback {
				c.setPhase(ctx, PhaseRolledBack)
			} else {
				c.setPhase(ctx, PhaseSucceeded)
			}
		case slices.ContainsFunc(c.p.Targets, func(t TargetSummary) bool { return t.Phase == PhaseExpired }):
			c.setPhase(ctx, PhaseExpired)
		case slices.ContainsFunc(c.p.Targets, func(t TargetSummary) bool { return t.Phase == PhaseRejected }):
			c.setPhase(ctx, PhaseRejected)
		default:
			c.setPhase(ctx, PhaseCancelled)
		}
	}
	c.record(ctx, "", "outcome", nil, fmt.Sprintf("%s: %d of %d organization(s) ended well, %d failed", c.p.Phase, c.count(Phase.Successful), len(c.p.Targets), c.p.Failed))
}

// historyFull reports whether the change should continue as new before its
// next wave.
func (c *change) historyFull(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > historyBudget
}

// continueAsNew carries the change's progress into a fresh run. Plans and
// evidence of ended waves stay in their targets' own workflows.
func (c *change) continueAsNew(ctx workflow.Context) error {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	carried := c.p
	carried.Targets = slices.Clone(c.p.Targets)
	for i := range carried.Targets {
		if carried.Targets[i].Wave < c.p.CurrentWave {
			carried.Targets[i].Plan, carried.Targets[i].Inventory, carried.Targets[i].Evidence = nil, nil, nil
		}
	}
	in := c.in
	in.Carried = &carried
	return workflow.NewContinueAsNewError(ctx, ChangeWorkflowName, in)
}

func (c *change) tellWave(ctx workflow.Context, wave *WaveProgress, d ParentDecision) {
	d.At = workflow.Now(ctx)
	for _, name := range wave.Organizations {
		if t := c.p.Targets[c.index[name]]; !t.Phase.Final() && t.Phase != PhaseApplying && t.Phase != PhaseVerifying {
			c.tell(ctx, name, d)
		}
	}
}

// tell signals a decision to one target. A target that has just ended cannot
// take it, and needs not.
func (c *change) tell(ctx workflow.Context, name string, d ParentDecision) {
	_ = workflow.SignalExternalWorkflow(ctx, c.p.Targets[c.index[name]].WorkflowID, "", SignalParentDecision, d).Get(ctx, nil)
}

func (c *change) setPhase(ctx workflow.Context, p Phase) {
	if c.p.Phase == p {
		return
	}
	c.p.Phase = p
	_ = workflow.UpsertTypedSearchAttributes(ctx, PhaseKey.ValueSet(string(p)))
	_ = workflow.UpsertMemo(ctx, map[string]any{"phase": string(p), "wave": c.p.CurrentWave, "waves": len(c.p.Waves)})
	details := fmt.Sprintf("**%s** of CloudTrail trusted access on %d organization(s): %s, wave %d of %d, %d done, %d failed",
		c.in.Action, len(c.p.Targets), p, c.p.CurrentWave, len(c.p.Waves), c.p.Done(), c.p.Failed)
	if c.p.Awaiting != nil {
		details += fmt.Sprintf("\n\nAwaiting %s from %s", c.p.Awaiting.What, strings.Join(c.p.Awaiting.Who, ", "))
	}
	workflow.SetCurrentDetails(ctx, details)
}

func (c *change) record(ctx workflow.Context, org, kind string, people []string, detail string) {
	c.p.Record = append(c.p.Record, RecordEntry{At: workflow.Now(ctx).UTC(), Organization: org, Kind: kind, People: people, Detail: detail})
}

func (c *change) waveAll(w *WaveProgress, ok func(TargetSummary) bool) bool {
	for _, name := range w.Organizations {
		if !ok(c.p.Targets[c.index[name]]) {
			return false
		}
	}
	return true
}

func (c *change) waveAny(w *WaveProgress, ok func(TargetSummary) bool) bool {
	return !c.waveAll(w, func(t TargetSummary) bool { return !ok(t) })
}

func (c *change) waveOutcome(w *WaveProgress) string {
	var parts []string
	for _, name := range w.Organizations {
		parts = append(parts, fmt.Sprintf("%s %s", name, c.p.Targets[c.index[name]].Phase))
	}
	return strings.Join(parts, ", ")
}

func (c *change) count(ok func(Phase) bool) int {
	n := 0
	for _, t := range c.p.Targets {
		if ok(t.Phase) {
			n++
		}
	}
	return n
}
