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
	"github.com/trailgate/trailgate/internal/brief"
	"github.com/trailgate/trailgate/internal/metrics"
)

// historyBudget is the history length past which a change continues as new
// at the next wave boundary, well under Temporal's limits. Tests lower it.
var historyBudget = 20000

// change is a rollout while its workflow runs.
type change struct {
	in ChangeInput
	p  ChangeProgress
	// resolution is what the worker's configuration said when the change
	// started: its organizations as reached, and its policy. With
	// perWave, its organizations are those of the current wave, resolved
	// when the wave started (versionWaveBound): the organizations of a
	// change of 10,000 took 3.3 MB, past Temporal's 2 MB payload limit.
	resolution activities.Resolution
	perWave    bool
	policy     GatePolicy
	// index finds an organization's summary in p.Targets.
	index map[string]int
	// running counts the targets released and not yet ended.
	running int
	// news counts what targets told the change, so that waits can wake.
	news int
	// used holds the nonces of the proofs the change has taken: a proof
	// works once.
	used *nonces
	// lastReminder is when the waiting gate last reminded its people.
	lastReminder time.Time

	rejected  *Decision
	cancelled *Control
	// byTemporal is set when the change was cancelled through Temporal (its
	// CLI, UI or SDK) rather than through trailgate's cancel.
	byTemporal bool
	// expired is set when a wave's gate outlived approvals.timeout.
	expired bool
	// depth: targets may come back to a gate after their release
	// (versionAWSDepth); returned counts how many times one did.
	depth    bool
	returned int
	// reasked names the organizations whose cleanup confirmation was just
	// forwarded: one that asks again is a confirmation not enough.
	reasked map[string]bool
	// batched: reports are read and decisions sent many at once
	// (versionBatched); sending holds the decisions sent and not yet
	// delivered.
	batched bool
	sending []workflow.Future
	// vouched: the worker vouches for the decisions sent (versionVouched);
	// unsent holds those not yet vouched for.
	vouched bool
	unsent  []telling
	// reading counts the batches of reports being read (versionBatched).
	reading int
	// gateSince is when the change came to the gate it waits at, for the
	// gate wait metric.
	gateSince time.Time
}

// settled reports whether nothing the change started is still under way:
// its handlers have finished and, since versionBatched, no report is being
// read, so that the change ends or continues with nothing in flight.
func (c *change) settled(ctx workflow.Context) func() bool {
	return func() bool { return (!c.batched || c.reading == 0) && workflow.AllHandlersFinished(ctx) }
}

// ChangeWorkflow rolls one action out over many organizations: it resolves
// them and the gate policy against the worker's configuration, verifies who
// requested it, then runs wave by wave, each organization a child
// TargetWorkflow. It owns every gate: approvers see a wave's plans before
// they decide; the CloudTrail administrator's cleanup confirmation comes
// first for a disable; mutations start only inside maintenance windows, a
// few at a time; a failure budget halts the change; pause, resume and
// cancel steer it. Every decision is proven (see prove).
func ChangeWorkflow(ctx workflow.Context, in ChangeInput) (ChangeProgress, error) {
	perWave := workflow.GetVersion(ctx, versionWaveBound, workflow.DefaultVersion, 1) == 1
	if err := in.validate(perWave && in.Carried == nil); err != nil {
		return ChangeProgress{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	if in.Carried != nil && !continuedByItself(workflow.GetInfo(ctx)) {
		return ChangeProgress{}, temporal.NewNonRetryableApplicationError(
			"invalid change: carried is set only by a change continuing as new; a request carries no progress, resolution or spent proofs: leave it out (trailgate enable and disable do)",
			ErrInvalidInput, nil)
	}
	// The change runs on a context that Temporal's cancellation does not
	// reach, so that it can stop its organizations cleanly and end with a
	// record; a cancellation through Temporal becomes a cancel of the change.
	root := ctx
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	c, err := newChange(ctx, in, perWave)
	if err != nil {
		return c.p, err
	}
	if err := c.registerHandlers(ctx); err != nil {
		return c.p, err
	}
	workflow.Go(root, func(root workflow.Context) {
		root.Done().Receive(root, nil)
		c.cancelledThroughTemporal(ctx)
	})
	c.depth = workflow.GetVersion(ctx, versionAWSDepth, workflow.DefaultVersion, 1) == 1
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
	_ = workflow.Await(ctx, c.settled(ctx))
	// The result is bounded (Bounded); what a replay compares is the
	// commands, not the result: no version is needed.
	p := c.p.Bounded()
	switch {
	case c.byTemporal:
		return p, temporal.NewCanceledError(p)
	case c.p.Phase == PhaseFailed || c.p.Phase == PhaseHalted:
		return p, temporal.NewApplicationError(fmt.Sprintf("change %s %s: %d organization(s) failed", in.ChangeID, c.p.Phase, c.p.Failed), ErrChangeFailed, p)
	}
	return p, nil
}

// continuedByItself reports whether this run is the change's own
// continuation: continued as new, neither by Temporal's cron nor by a
// retry. A carried progress skips the requester's proof and the worker's
// resolution, so it is taken from no one else: anyone who reaches Temporal
// can start a change with any input, and a cron or a retry would start
// runs that repeat it. (Unguarded: see versions.go.)
func continuedByItself(info *workflow.Info) bool {
	return info.ContinuedExecutionRunID != "" && info.CronSchedule == "" && info.Attempt <= 1
}

// newChange resolves a new change (or takes what a continued one carried)
// and verifies its requester.
func newChange(ctx workflow.Context, in ChangeInput, perWave bool) (*change, error) {
	c := &change{in: in, perWave: perWave, index: map[string]int{}, used: newNonces(nil), reasked: map[string]bool{}}
	if in.Carried != nil {
		c.p, c.resolution = in.Carried.Progress, in.Carried.Resolution
		c.used = newNonces(in.Carried.UsedNonces)
		c.in.Carried = nil
		c.policy = c.resolution.Policy
		c.indexTargets()
		return c, workflow.UpsertTypedSearchAttributes(ctx, ChangeIDKey.ValueSet(in.ChangeID), ActionKey.ValueSet(string(in.Action)), PhaseKey.ValueSet(string(c.p.Phase)))
	}
	metrics.ChangeStarted(workflow.GetMetricsHandler(ctx), string(in.Action))
	c.p = ChangeProgress{
		ChangeID: in.ChangeID, Action: in.Action, Reason: in.Reason,
		Phase: PhasePending, CurrentWave: 1, FailureBudget: in.FailureBudget,
		Waves: []WaveProgress{}, Targets: []TargetSummary{}, Record: []RecordEntry{},
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, ChangeIDKey.ValueSet(in.ChangeID), ActionKey.ValueSet(string(in.Action)), PhaseKey.ValueSet(string(c.p.Phase))); err != nil {
		return c, err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:             "Resolve organizations and the gate policy in the worker's configuration",
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
	})
	if err := workflow.ExecuteActivity(actx, a.ResolveChange, activities.ResolveInput{
		Organizations: in.Organizations, ManageTrail: in.Action == ActionEnable, PolicyOnly: c.perWave,
	}).Get(ctx, &c.resolution); err != nil {
		return c, c.refuseRequest(ctx, err)
	}
	c.policy = c.resolution.Policy
	c.p.Policy = &c.policy
	requester, err := prove(ctx, c.policy, c.used, in.Requester, in.Binding())
	if err != nil {
		return c, c.refuseRequest(ctx, err)
	}
	c.p.Requester, c.p.RequestedBy = requester.By, requester.recorded()
	if err := invalid("change", c.policyProblems()); err != nil {
		return c, c.refuseRequest(ctx, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil))
	}
	sizes, _ := PlanWaves(in.Waves, len(in.Organizations))
	next := 0
	for w, size := range sizes {
		wave := WaveProgress{Number: w + 1, NeedsApproval: w == 0 || in.ApproveEveryWave, Approvals: []Decision{}, Phase: PhasePending}
		for _, name := range in.Organizations[next : next+size] {
			wave.Organizations = append(wave.Organizations, name)
			c.p.Targets = append(c.p.Targets, TargetSummary{
				Organization: name, WorkflowID: TargetWorkflowID(in.ChangeID, name), Wave: w + 1, Phase: PhasePending,
			})
		}
		next += size
		c.p.Waves = append(c.p.Waves, wave)
	}
	c.indexTargets()
	detail := fmt.Sprintf("%s requested %s of trusted access for CloudTrail on %d organization(s) in %d wave(s)", requester, in.Action, len(in.Organizations), len(sizes))
	if in.Reason != "" {
		detail += ": " + in.Reason
	}
	c.recordWho(ctx, "", RecordRequested, []Who{requester}, detail)
	c.record(ctx, "", RecordPolicy, nil, describePolicy(c.policy))
	return c, nil
}

// refuseRequest ends a change whose request the worker does not accept:
// nothing was started and nothing changed.
func (c *change) refuseRequest(ctx workflow.Context, err error) error {
	c.record(ctx, "", RecordRefused, nil, "request refused: "+err.Error())
	c.setPhase(ctx, PhaseRejected)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return temporal.NewNonRetryableApplicationError(appErr.Message(), appErr.Type(), nil, c.p)
	}
	return err
}

// policyProblems are what makes the policy unable to decide this change: a
// gate must need approval from enough people other than the requester.
func (c *change) policyProblems() []string {
	p := c.policy
	var problems []string
	if p.RequiredApprovals < 1 {
		problems = append(problems, "the worker's approval policy requires no approval: set approvals.required to 1 or more in the worker's configuration")
	} else if len(p.Approvers) > 0 {
		others := 0
		for _, name := range p.Approvers {
			if name != c.p.Requester {
				others++
			}
		}
		if others < p.RequiredApprovals {
			problems = append(problems, fmt.Sprintf("the change needs %d approval(s) but only %d approver(s) other than the requester %s are listed in the worker's configuration", p.RequiredApprovals, others, c.p.Requester))
		}
	}
	if p.Timeout <= 0 {
		problems = append(problems, "the worker's gate timeout (approvals.timeout) must be positive")
	}
	return problems
}

func (c *change) indexTargets() {
	for i, t := range c.p.Targets {
		c.index[t.Organization] = i
	}
}

// cancelledThroughTemporal turns a cancellation requested through Temporal
// into a cancel of the change: organizations not yet mutating stop, a
// mutation under way finishes and is verified, and the change ends as
// cancelled.
func (c *change) cancelledThroughTemporal(ctx workflow.Context) {
	c.byTemporal = true
	if c.cancelled != nil || c.p.Phase.Final() {
		return
	}
	c.cancelled = &Control{Who: Who{By: "temporal"}, Reason: "cancellation requested through Temporal", At: workflow.Now(ctx)}
	c.record(ctx, "", RecordCancelled, nil, "cancelled through Temporal (its CLI, UI or API): organizations not yet mutating stop with nothing changed; a mutation under way finishes and is verified")
}

// describePolicy says, for the record, the gate policy in force.
func describePolicy(p GatePolicy) string {
	approvers := "any proven person but the requester"
	if len(p.Approvers) > 0 {
		approvers = strings.Join(p.Approvers, ", ")
	}
	s := fmt.Sprintf("policy in force for the whole change (from the worker's configuration): %d approval(s) from %s; CloudTrail administrators %s; gates expire after %s",
		p.RequiredApprovals, approvers, strings.Join(p.CloudTrailAdmins, ", "), p.Timeout)
	if p.AllowClaims {
		s += "; claimed names are accepted without proof and marked as claimed"
	}
	return s
}

// runWave runs the current wave to its end.
func (c *change) runWave(ctx workflow.Context) {
	wave := &c.p.Waves[c.p.CurrentWave-1]
	wave.Phase = PhasePreflight
	c.setPhase(ctx, PhasePreflight)
	c.record(ctx, "", RecordWave, nil, fmt.Sprintf("wave %d of %d starts: %s", wave.Number, len(c.p.Waves), brief.List(wave.Organizations, DetailedTargets)))
	if c.resolveWave(ctx, wave) {
		for _, name := range wave.Organizations {
			c.startTarget(ctx, name)
		}
	}

	// Every target plans and, for a disable, waits at the change's cleanup
	// gate, until it stands at its approval gate or has ended.
	for {
		seen := c.news
		c.updateAwaitingCleanup(ctx, wave)
		if c.stopped() || c.waveAll(wave, func(t TargetSummary) bool {
			return t.Phase == PhaseAwaitingApproval || t.Phase.Final()
		}) {
			break
		}
		moved := func() bool { return c.news != seen || c.stopped() }
		if c.p.Phase == PhaseAwaitingCleanup {
			c.awaitGate(ctx, wave, moved)
		} else {
			_ = workflow.Await(ctx, moved)
		}
	}
	if wave.NeedsApproval && !c.stopped() && c.waveAny(wave, func(t TargetSummary) bool { return t.Phase == PhaseAwaitingApproval }) {
		c.awaitApproval(ctx, wave, fmt.Sprintf("%d approval(s) of wave %d", c.policy.RequiredApprovals, wave.Number), func() bool {
			return c.waveAll(wave, func(t TargetSummary) bool { return t.Phase.Final() })
		})
	}
	c.passGate(ctx, wave)
	wave.Phase = PhaseApplying
	ended := func() bool { return c.waveAll(wave, func(t TargetSummary) bool { return t.Phase.Final() }) }
	if !c.depth {
		_ = workflow.Await(ctx, ended)
	}
	for handled := c.returned; c.depth && !ended(); {
		_ = workflow.Await(ctx, func() bool { return ended() || c.returned != handled })
		if !ended() {
			handled = c.returned
			c.regate(ctx, wave)
		}
	}
	wave.Phase = PhaseSucceeded
	switch {
	case c.rejected != nil:
		c.setPhase(ctx, PhaseRejected)
	case c.cancelled != nil:
		c.setPhase(ctx, PhaseCancelled)
	case c.expired:
		c.setPhase(ctx, PhaseExpired)
	case c.p.Failed > c.in.FailureBudget:
		c.record(ctx, "", RecordHalted, nil, fmt.Sprintf("%d organization(s) failed, more than the failure budget of %d: the change halts", c.p.Failed, c.in.FailureBudget))
		c.setPhase(ctx, PhaseHalted)
	}
	if c.p.Phase.Final() {
		wave.Phase = c.p.Phase
	}
	c.record(ctx, "", RecordWave, nil, fmt.Sprintf("wave %d ends: %s", wave.Number, c.waveOutcome(wave)))
}

// awaitApproval opens the wave's approval gate and waits until enough
// approvers approved, the change stopped, the gate expired, or moot says
// nothing waits for it any more.
func (c *change) awaitApproval(ctx workflow.Context, wave *WaveProgress, what string, moot func() bool) {
	who := c.policy.Approvers
	if len(who) == 0 {
		who = []string{"any proven person but " + c.p.Requester}
	}
	c.p.Awaiting = &Awaiting{What: what, Since: workflow.Now(ctx), Expires: workflow.Now(ctx).Add(c.policy.Timeout), Who: who}
	wave.Phase = PhaseAwaitingApproval
	c.setPhase(ctx, PhaseAwaitingApproval)
	c.record(ctx, "", RecordGate, c.p.Awaiting.Who, fmt.Sprintf("wave %d awaits %s", wave.Number, c.p.Awaiting.What))
	c.awaitGate(ctx, wave, func() bool {
		return len(wave.Approvals) >= c.policy.RequiredApprovals || c.stopped() || moot()
	})
	c.p.Awaiting = nil
}

// passGate tells the wave's targets at its gate what the change decided:
// reject, cancel or expire them, or release them.
func (c *change) passGate(ctx workflow.Context, wave *WaveProgress) {
	switch {
	case c.rejected != nil:
		c.tellWave(ctx, wave, ParentDecision{Kind: ParentReject, People: []Who{c.rejected.Who}, Comment: c.rejected.Comment})
	case c.cancelled != nil:
		c.tellWave(ctx, wave, ParentDecision{Kind: ParentCancel, People: []Who{c.cancelled.Who}, Comment: c.cancelled.Reason})
	case c.expired:
		c.tellWave(ctx, wave, ParentDecision{Kind: ParentExpire, Comment: fmt.Sprintf("no decision within %s", c.policy.Timeout)})
	default:
		c.release(ctx, wave)
	}
}

// stopped reports whether the change will release nothing more: rejected,
// cancelled or expired.
func (c *change) stopped() bool {
	return c.rejected != nil || c.cancelled != nil || c.expired
}

// awaitGate waits, durably, at the gate c.p.Awaiting describes until done
// reports true or the gate expires (the change then ends as expired, with
// nothing changed). It reminds the gate's people every reminder_every.
func (c *change) awaitGate(ctx workflow.Context, wave *WaveProgress, done func() bool) {
	for !done() {
		aw := *c.p.Awaiting
		now := workflow.Now(ctx)
		left := aw.Expires.Sub(now)
		if left <= 0 {
			c.expired = true
			c.record(ctx, "", RecordExpired, nil, fmt.Sprintf("wave %d had no %s within %s: its organizations end as expired, with nothing changed", wave.Number, aw.What, c.policy.Timeout))
			return
		}
		wait := left
		if every := c.policy.ReminderEvery; every > 0 {
			if c.lastReminder.Before(aw.Since) {
				c.lastReminder = aw.Since
			}
			next := c.lastReminder.Add(every)
			if !next.After(now) {
				c.lastReminder = now
				c.remind(ctx, wave, aw)
				continue
			}
			wait = min(wait, next.Sub(now))
		}
		_, _ = workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "Awaiting " + aw.What},
		}, done)
	}
}

// remind tells the people of a waiting gate, once for the whole wave; a
// reminder that cannot be delivered is recorded, never fatal.
func (c *change) remind(ctx workflow.Context, wave *WaveProgress, aw Awaiting) {
	c.record(ctx, "", RecordReminder, aw.Who, sendReminder(ctx, activities.Reminder{
		ChangeID: c.in.ChangeID, Action: string(c.in.Action), Awaiting: aw.What, Who: aw.Who, Since: aw.Since, Expires: aw.Expires,
		Message: fmt.Sprintf("change %s (%s on %s) has awaited %s since %s; it expires at %s", c.in.ChangeID, c.in.Action,
			strings.Join(wave.Organizations, ", "), aw.What, aw.Since.Format(time.RFC3339), aw.Expires.Format(time.RFC3339)),
	}))
}

// sendReminder runs the Notify activity and says, for the record, what
// became of the reminder.
func sendReminder(ctx workflow.Context, r activities.Reminder) string {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:             "Remind " + strings.Join(r.Who, ", "),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 5},
	})
	if err := workflow.ExecuteActivity(actx, a.Notify, r).Get(ctx, nil); err != nil {
		return "reminder not delivered: " + err.Error()
	}
	return "reminded: " + r.Message
}

// release lets the wave's targets past their approval gates, at most
// Concurrency at a time, only inside maintenance windows, never while the
// change is paused, and no more once the failure budget is spent.
func (c *change) release(ctx workflow.Context, wave *WaveProgress) {
	approvers := make([]Who, 0, len(wave.Approvals))
	names := make([]string, 0, len(wave.Approvals))
	for _, d := range wave.Approvals {
		approvers = append(approvers, d.Who)
		names = append(names, d.By)
	}
	comment := fmt.Sprintf("wave %d approved by %s", wave.Number, strings.Join(names, ", "))
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
			turn := func() bool {
				return c.cancelled != nil || c.p.Failed > c.in.FailureBudget || (c.p.Paused == nil && c.running < limit)
			}
			if !turn() {
				// Those released so far go before the wait for a turn.
				c.flush(ctx)
			}
			_ = workflow.Await(ctx, turn)
			if c.cancelled != nil || c.p.Failed > c.in.FailureBudget {
				c.tellWave(ctx, wave, ParentDecision{Kind: ParentCancel, People: []Who{{By: "trailgate"}}, Comment: "the change stopped before this organization's turn"})
				return
			}
			open := NextOpen(c.in.Windows, workflow.Now(ctx))
			if !open.After(workflow.Now(ctx)) {
				break
			}
			c.flush(ctx)
			c.p.Awaiting = &Awaiting{What: "the next maintenance window", Since: workflow.Now(ctx), Expires: open, Who: []string{"the clock"}}
			c.setPhase(ctx, PhaseAwaitingWindow)
			c.record(ctx, "", RecordGate, nil, "outside every maintenance window: waiting until "+open.Format(time.RFC3339))
			_, _ = workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout: open.Sub(workflow.Now(ctx)), TimerOptions: workflow.TimerOptions{Summary: "Maintenance window opens " + open.Format(time.RFC3339)},
			}, func() bool { return c.cancelled != nil || c.p.Paused != nil })
			c.p.Awaiting = nil
		}
		c.setPhase(ctx, PhaseApplying)
		c.running++
		c.p.Targets[i].Phase = PhaseApplying
		c.tell(ctx, name, ParentDecision{Kind: ParentRelease, People: approvers, Comment: comment, At: workflow.Now(ctx)})
	}
	c.delivered(ctx)
}

// resolveWave reads, for a change resolved wave by wave, what the worker's
// configuration says of the wave's organizations now. When it cannot, each
// of them fails with the reason, and none starts.
func (c *change) resolveWave(ctx workflow.Context, wave *WaveProgress) bool {
	if !c.perWave {
		return true
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:             fmt.Sprintf("Resolve the organizations of wave %d in the worker's configuration", wave.Number),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
	})
	var res activities.Resolution
	err := workflow.ExecuteActivity(actx, a.ResolveChange, activities.ResolveInput{
		Organizations: wave.Organizations, ManageTrail: c.in.Action == ActionEnable,
	}).Get(ctx, &res)
	if err == nil {
		c.resolution.Organizations = res.Organizations
		return true
	}
	why := fmt.Sprintf("the worker's configuration did not resolve wave %d: %s", wave.Number, message(err))
	for _, name := range wave.Organizations {
		t := &c.p.Targets[c.index[name]]
		t.Phase, t.Error = PhaseFailed, why
		c.p.Failed++
	}
	c.record(ctx, "", RecordError, nil, why)
	return false
}

// startTarget starts one organization's child workflow and follows it to
// its end.
func (c *change) startTarget(ctx workflow.Context, name string) {
	i := c.index[name]
	org := c.resolution.Organizations[slices.IndexFunc(c.resolution.Organizations, func(o OrgRef) bool { return o.Organization == name })]
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        c.p.Targets[i].WorkflowID,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		StaticSummary:     fmt.Sprintf("%s of CloudTrail trusted access in %s", c.in.Action, name),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			ChangeIDKey.ValueSet(c.in.ChangeID), ActionKey.ValueSet(string(c.in.Action)),
			OrganizationKey.ValueSet(name), PhaseKey.ValueSet(string(PhasePending))),
	})
	f := workflow.ExecuteChildWorkflow(cctx, TargetWorkflowName, TargetInput{
		ChangeID: c.in.ChangeID, Action: c.in.Action, Organization: org,
		Requester: c.p.Requester, Reason: c.in.Reason, ParentWorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
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
	c.record(ctx, name, RecordOutcome, nil, detail)
}

// onReport takes a child's report of where it stands. Targets report only
// the gates they wait at (their outcomes come as their results): a report
// of any other phase was sent straight through Temporal, not by a target,
// and is dropped. (Unguarded: see versions.go.)
func (c *change) onReport(r TargetReport) {
	i, ok := c.index[r.Organization]
	if !ok || c.p.Targets[i].Phase.Final() || (r.Phase != PhaseAwaitingApproval && r.Phase != PhaseAwaitingCleanup) {
		return
	}
	c.news++
	t := &c.p.Targets[i]
	if t.Phase == PhaseApplying || t.Phase == PhaseVerifying {
		// Released, it came back to a gate: AWS no longer matched what was
		// approved and confirmed. It holds no place among the running.
		c.running--
		c.returned++
	}
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
	asked := slices.ContainsFunc(waiting, func(name string) bool { return c.reasked[name] })
	for _, name := range waiting {
		delete(c.reasked, name)
	}
	wave.Phase = PhaseAwaitingCleanup
	if c.p.Phase != PhaseAwaitingCleanup {
		c.p.Awaiting = &Awaiting{
			What: what, Since: workflow.Now(ctx), Expires: workflow.Now(ctx).Add(c.policy.Timeout), Who: c.policy.CloudTrailAdmins,
		}
		c.setPhase(ctx, PhaseAwaitingCleanup)
		c.record(ctx, "", RecordGate, c.p.Awaiting.Who, fmt.Sprintf("wave %d awaits %s", wave.Number, what))
		return
	}
	if c.p.Awaiting.What != what || asked {
		// The same gate asks for something else, or again for the same
		// (a confirmation that was not enough): people following the
		// change are told.
		c.record(ctx, "", RecordGate, c.p.Awaiting.Who, fmt.Sprintf("wave %d now awaits %s", wave.Number, what))
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
	c.record(ctx, "", RecordOutcome, nil, fmt.Sprintf("%s: %d of %d organization(s) ended well, %d failed", c.p.Phase, c.count(Phase.Successful), len(c.p.Targets), c.p.Failed))
}

// historyFull reports whether the change should continue as new before its
// next wave.
func (c *change) historyFull(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > historyBudget
}

// continueAsNew carries the change's progress into a fresh run. Plans and
// evidence of ended waves stay in their targets' own workflows, and so do
// the routine entries of a change over many organizations (Bounded).
func (c *change) continueAsNew(ctx workflow.Context) error {
	_ = workflow.Await(ctx, c.settled(ctx))
	carried := c.p
	carried.Targets = slices.Clone(c.p.Targets)
	for i := range carried.Targets {
		if t := &carried.Targets[i]; t.Wave < c.p.CurrentWave {
			t.Plan, t.Inventory, t.Evidence = nil, nil, nil
			if c.perWave {
				t.Message, t.Told = "", nil
			}
		}
	}
	if len(carried.Targets) > DetailedTargets {
		carried.Record = withoutRoutine(carried.Record)
	}
	resolution := c.resolution
	if c.perWave {
		// The next wave resolves its own.
		resolution.Organizations = []OrgRef{}
	}
	in := c.in
	in.Carried = &Carried{Progress: carried, Resolution: resolution, UsedNonces: c.used.order}
	return workflow.NewContinueAsNewError(ctx, ChangeWorkflowName, in)
}

func (c *change) tellWave(ctx workflow.Context, wave *WaveProgress, d ParentDecision) {
	d.At = workflow.Now(ctx)
	for _, name := range wave.Organizations {
		if t := c.p.Targets[c.index[name]]; !t.Phase.Final() && t.Phase != PhaseApplying && t.Phase != PhaseVerifying {
			c.tell(ctx, name, d)
		}
	}
	c.delivered(ctx)
}

// tell signals a decision to one target. A target that has just ended cannot
// take it, and needs not. Since versionBatched tell does not wait for the
// signal's delivery: delivered does, for every decision sent.
func (c *change) tell(ctx workflow.Context, name string, d ParentDecision) {
	t := &c.p.Targets[c.index[name]]
	// Kept before it is sent: the target checks the signal against it.
	t.Told = append(t.Told, d)
	if c.vouched {
		// Held until flush, which has the worker vouch for every decision
		// held in one call, then sends them.
		c.unsent = append(c.unsent, telling{to: t.WorkflowID, d: d})
		return
	}
	sent := workflow.SignalExternalWorkflow(ctx, t.WorkflowID, "", SignalParentDecision, d)
	if c.batched {
		c.sending = append(c.sending, sent)
		return
	}
	_ = sent.Get(ctx, nil)
}

// telling is a decision held to be vouched for and sent.
type telling struct {
	to string
	d  ParentDecision
}

// flush has the worker vouch for the decisions held, in one local
// activity, and sends them. Without the worker's word (a worker without a
// proof key), a target asks the change instead.
func (c *change) flush(ctx workflow.Context) {
	if len(c.unsent) == 0 {
		return
	}
	unsent := c.unsent
	c.unsent = nil
	from := workflow.GetInfo(ctx).WorkflowExecution.ID
	vs := make([]activities.Vouching, len(unsent))
	for i, u := range unsent {
		vs[i] = u.d.vouching(from, u.to)
	}
	var words []string
	_ = workflow.ExecuteLocalActivity(vouchOptions(ctx), a.VouchAll, vs).Get(ctx, &words)
	for i, u := range unsent {
		if i < len(words) {
			u.d.Word = words[i]
		}
		c.sending = append(c.sending, workflow.SignalExternalWorkflow(ctx, u.to, "", SignalParentDecision, u.d))
	}
}

// delivered sends what is held and waits until every decision sent has
// been delivered, or could not be (its target had ended).
func (c *change) delivered(ctx workflow.Context) {
	c.flush(ctx)
	sending := c.sending
	c.sending = nil
	for _, f := range sending {
		_ = f.Get(ctx, nil)
	}
}

func (c *change) setPhase(ctx workflow.Context, p Phase) {
	if c.p.Phase == p {
		return
	}
	c.measure(ctx, p)
	c.p.Phase = p
	_ = workflow.UpsertTypedSearchAttributes(ctx, PhaseKey.ValueSet(string(p)))
	_ = workflow.UpsertMemo(ctx, map[string]any{"phase": string(p), "wave": c.p.CurrentWave, "waves": len(c.p.Waves)})
	details := fmt.Sprintf("**%s** of CloudTrail trusted access on %d organization(s): %s, wave %d of %d, %d done, %d failed",
		c.in.Action, len(c.p.Targets), p, c.p.CurrentWave, len(c.p.Waves), c.p.Done(), c.p.Failed)
	if aw := c.p.Awaiting; aw != nil {
		details += fmt.Sprintf("\n\nAwaiting %s from %s", aw.What, strings.Join(aw.Who, ", "))
		if !aw.Expires.IsZero() {
			details += " until " + aw.Expires.UTC().Format(time.RFC3339) + ", when the change expires"
		}
	}
	// Current details are not recorded in the history: changing them needs
	// no version.
	workflow.SetCurrentDetails(ctx, details)
}

// measure records what a move to phase next ends: the wait at a gate, or
// the change itself. Workflow metrics are not recorded while a workflow
// replays, so each is recorded once.
func (c *change) measure(ctx workflow.Context, next Phase) {
	h := workflow.GetMetricsHandler(ctx)
	now := workflow.Now(ctx)
	if gate := gateOf(c.p.Phase); gate != "" && !c.gateSince.IsZero() {
		metrics.GateWaited(h, gate, now.Sub(c.gateSince))
	}
	c.gateSince = time.Time{}
	if gateOf(next) != "" {
		c.gateSince = now
	}
	if next.Final() && !c.p.Phase.Final() {
		metrics.ChangeEnded(h, string(c.in.Action), string(next))
	}
}

// gateOf is the kind of gate a change waits at in a phase; empty when the
// phase is no gate.
func gateOf(p Phase) string {
	switch p {
	case PhaseAwaitingApproval:
		return metrics.GateApproval
	case PhaseAwaitingCleanup:
		return metrics.GateCleanup
	case PhaseAwaitingWindow:
		return metrics.GateWindow
	}
	return ""
}

func (c *change) record(ctx workflow.Context, org string, kind RecordKind, people []string, detail string) {
	c.p.Record = append(c.p.Record, RecordEntry{At: workflow.Now(ctx).UTC(), Organization: org, Kind: kind, People: people, Detail: detail})
}

// recordWho records a decision of proven (or claimed) people: their names,
// and each with the ARN STS verified or marked as claimed.
func (c *change) recordWho(ctx workflow.Context, org string, kind RecordKind, who []Who, detail string) {
	c.p.Record = append(c.p.Record, whoEntry(workflow.Now(ctx), org, kind, who, detail))
}

func whoEntry(at time.Time, org string, kind RecordKind, who []Who, detail string) RecordEntry {
	e := RecordEntry{At: at.UTC(), Organization: org, Kind: kind, Detail: detail}
	for _, w := range who {
		e.People = append(e.People, w.By)
		e.Identities = append(e.Identities, w.recorded())
	}
	return e
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

// waveOutcome says how a wave's organizations ended: each by name in a
// wave of up to DetailedTargets, and by phase in a larger one, naming a
// few of those that did not end well (a wave of 1,000 named each in a
// line of 24 KB).
func (c *change) waveOutcome(w *WaveProgress) string {
	var parts []string
	if len(w.Organizations) <= DetailedTargets {
		for _, name := range w.Organizations {
			parts = append(parts, fmt.Sprintf("%s %s", name, c.p.Targets[c.index[name]].Phase))
		}
		return strings.Join(parts, ", ")
	}
	var phases []Phase
	named := map[Phase][]string{}
	for _, name := range w.Organizations {
		p := c.p.Targets[c.index[name]].Phase
		if _, ok := named[p]; !ok {
			phases = append(phases, p)
		}
		named[p] = append(named[p], name)
	}
	for _, p := range phases {
		part := brief.Count(len(named[p])) + " " + string(p)
		if !p.Successful() {
			part += " (" + brief.List(named[p], 5) + ")"
		}
		parts = append(parts, part)
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
