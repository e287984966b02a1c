package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// maxRefusalsRecorded bounds how many refused decisions a change records,
// so that someone who can reach Temporal cannot grow its history at will.
const maxRefusalsRecorded = 50

// registerHandlers sets up the change's progress query, the people's
// updates and the targets' reports. Every update is a decision: its
// validator refuses, without a trace in history, what is wrong whoever
// sends it (an ended change, the wrong phase, no proof at all); its handler
// then proves who sent it (see prove) and applies the gate's rules to that
// person. A decision refused after it was accepted changes no gate; it is
// recorded as a refused attempt, evidence of who tried what.
func (c *change) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (ChangeProgress, error) { return c.p.Bounded(), nil }); err != nil {
		return err
	}
	if err := setUpdateHandlers(ctx, []updateHandler{
		{UpdateApprove, c.approve, c.validateApprove, "Approve the wave awaiting approval (with a proof of identity)"},
		{UpdateReject, c.reject, c.validateReject, "Reject the change at its gate; nothing more is changed (with a proof of identity)"},
		{UpdateConfirmCleanup, c.confirmCleanup, c.validateConfirmCleanup, "The CloudTrail administrator confirms cleanup for one or every organization (with a proof of identity)"},
		{UpdatePause, c.pause, c.validatePause, "Pause: no further organization starts mutating (with a proof of identity)"},
		{UpdateResume, c.resume, c.validateResume, "Resume a paused change (with a proof of identity)"},
		{UpdateCancel, c.cancel, c.validateCancel, "Cancel: organizations not yet mutating stop with nothing changed (with a proof of identity)"},
	}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryTold, func(org string) ([]ParentDecision, error) {
		if i, ok := c.index[org]; ok {
			return c.p.Targets[i].Told, nil
		}
		return nil, fmt.Errorf("organization %s is not part of change %s", org, c.in.ChangeID)
	}); err != nil {
		return err
	}
	verified := workflow.GetVersion(ctx, versionVerifiedSignals, workflow.DefaultVersion, 1) == 1
	c.batched = workflow.GetVersion(ctx, versionBatched, workflow.DefaultVersion, 1) == 1
	c.vouched = c.batched && workflow.GetVersion(ctx, versionVouched, workflow.DefaultVersion, 1) == 1
	reports := workflow.GetSignalChannel(ctx, SignalTargetReport)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			batch := c.receiveReports(ctx, reports)
			if verified {
				c.reading++
				var unanswered []TargetReport
				batch, unanswered = c.readReports(ctx, batch)
				c.reading--
				if len(unanswered) > 0 && workflow.GetVersion(ctx, versionReask, workflow.DefaultVersion, 1) == 1 {
					c.askAgain(ctx, unanswered)
				}
			}
			for _, r := range batch {
				c.onReport(r)
			}
		}
	})
	return nil
}

// receiveReports waits for a target's report and, since versionBatched,
// takes every other report already there with it.
func (c *change) receiveReports(ctx workflow.Context, reports workflow.ReceiveChannel) []TargetReport {
	var r TargetReport
	reports.Receive(ctx, &r)
	batch := []TargetReport{r}
	for c.batched {
		var more TargetReport
		if !reports.ReceiveAsync(&more) {
			break
		}
		batch = append(batch, more)
	}
	return batch
}

// decide proves who is behind a decision and applies the gate's rule to
// that person. A refusal is recorded and returned; nothing else changes.
func (c *change) decide(ctx workflow.Context, kind DecisionKind, w Who, b Binding, rule func(by string) error) (Who, error) {
	who, err := prove(ctx, c.policy, c.used, w, b)
	if err == nil {
		err = rule(who.By)
	}
	if err != nil {
		refusals := 0
		for _, e := range c.p.Record {
			if e.Kind == RecordRefused {
				refusals++
			}
		}
		if refusals < maxRefusalsRecorded {
			var people []Who
			if who.ARN != "" || who.By != "" {
				people = []Who{who}
			}
			c.recordWho(ctx, "", RecordRefused, people, fmt.Sprintf("%s refused: %s", kind, message(err)))
		}
		return Who{}, err
	}
	return who, nil
}

// claimProblem refuses in a validator a decision the worker cannot take
// whoever sent it: no proof where claims are not allowed, or a claim that
// the gate's rule refuses.
func (c *change) claimProblem(w Who, rule func(by string) error) error {
	if w.Proof != "" {
		if w.Nonce == "" {
			return fmt.Errorf("the proof has no nonce: a proof is made for one decision, with a nonce of its own")
		}
		return nil
	}
	if !c.policy.AllowClaims {
		return fmt.Errorf("no proof of identity: change %s accepts decisions only with a proof signed by the person's AWS credentials (the trailgate CLI makes one; see --profile)", c.in.ChangeID)
	}
	by := strings.TrimSpace(w.By)
	if by == "" {
		return fmt.Errorf("say who you are (--as)")
	}
	return rule(by)
}

// message is an error's message without the type an application error
// carries.
func message(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

func (c *change) notEnded() error {
	if c.p.Phase.Final() {
		return fmt.Errorf("change %s has ended (%s): nothing is left to decide", c.in.ChangeID, c.p.Phase)
	}
	return nil
}

// decisionProblem is what is wrong with an approval or rejection whoever
// sends it: an ended change, another wave, a comment that is not plain text.
func (c *change) decisionProblem(d Decision) error {
	if err := c.notEnded(); err != nil {
		return err
	}
	if d.Proof != "" && d.Wave == 0 {
		return fmt.Errorf("a proven decision names its wave: change %s awaits wave %d", c.in.ChangeID, c.p.CurrentWave)
	}
	if d.Wave != 0 && d.Wave != c.p.CurrentWave {
		return fmt.Errorf("change %s is at wave %d, not wave %d", c.in.ChangeID, c.p.CurrentWave, d.Wave)
	}
	if now := c.roundNow(); d.round() != now && (d.Proof != "" || d.Round != 0) {
		return fmt.Errorf("change %s asks for wave %d's approval round %d, not round %d: the plan changed since that decision was made; read it again (trailgate status %s) and decide again", c.in.ChangeID, c.p.CurrentWave, now, d.round(), c.in.ChangeID)
	}
	return invalid("decision", textProblems("the comment", d.Comment, maxCommentLength))
}

func (c *change) validateApprove(d Decision) error {
	if err := c.decisionProblem(d); err != nil {
		return err
	}
	if c.p.Phase != PhaseAwaitingApproval {
		return fmt.Errorf("change %s is %s, not awaiting approval", c.in.ChangeID, c.p.Phase)
	}
	return c.claimProblem(d.Who, c.mayApprove)
}

// mayApprove applies the approval policy to one person: on the list, not
// the requester (two-person rule), not approving twice.
func (c *change) mayApprove(by string) error {
	switch {
	case by == c.p.Requester:
		return fmt.Errorf("%s requested this change and cannot approve it: another approver must (two-person rule)", by)
	case !may(c.policy.Approvers, by):
		return fmt.Errorf("%s is not an approver (approvals.approvers in the worker's configuration: %s)", by, strings.Join(c.policy.Approvers, ", "))
	case slices.ContainsFunc(c.p.Waves[c.p.CurrentWave-1].Approvals, func(x Decision) bool { return x.By == by }):
		return fmt.Errorf("%s has already approved this wave: another approver must", by)
	}
	return nil
}

func (c *change) approve(ctx workflow.Context, d Decision) (ChangeProgress, error) {
	wave, round := c.p.CurrentWave, c.roundNow()
	who, err := c.decide(ctx, DecisionApprove, d.Who, d.Binding(c.in.ChangeID, DecisionApprove), func(by string) error {
		if err := c.validateApproveAgain(wave, round); err != nil {
			return err
		}
		return c.mayApprove(by)
	})
	if err != nil {
		return c.p, err
	}
	d.Who, d.Wave = who, wave
	if round > 1 {
		d.Round = round
	}
	w := &c.p.Waves[wave-1]
	w.Approvals = append(w.Approvals, d)
	if len(w.Approvals) >= c.policy.RequiredApprovals {
		c.p.Awaiting = nil
	}
	c.recordWho(ctx, "", RecordApproved, []Who{who}, fmt.Sprintf("wave %d: approval %d of %d by %s", wave, len(w.Approvals), c.policy.RequiredApprovals, who)+comment(d.Comment))
	return c.p.Bounded(), nil
}

// roundNow is the approval round of the wave the change is at.
func (c *change) roundNow() int {
	if w := c.p.CurrentWave; w >= 1 && w <= len(c.p.Waves) {
		return c.p.Waves[w-1].ApprovalRound()
	}
	return 1
}

// validateApproveAgain checks, once the proof is verified, that the gate
// still awaits the approval the person was asked for.
func (c *change) validateApproveAgain(wave, round int) error {
	if err := c.notEnded(); err != nil {
		return err
	}
	if c.p.Phase != PhaseAwaitingApproval || c.p.CurrentWave != wave || c.roundNow() != round {
		return fmt.Errorf("change %s is %s at wave %d: the approval came too late", c.in.ChangeID, c.p.Phase, c.p.CurrentWave)
	}
	return nil
}

func (c *change) validateReject(d Decision) error {
	if err := c.decisionProblem(d); err != nil {
		return err
	}
	if err := c.rejectable(); err != nil {
		return err
	}
	return c.claimProblem(d.Who, c.mayReject)
}

func (c *change) rejectable() error {
	if err := c.notEnded(); err != nil {
		return err
	}
	if c.p.Phase != PhaseAwaitingApproval && c.p.Phase != PhaseAwaitingCleanup {
		return fmt.Errorf("change %s is %s: only a waiting gate can be rejected", c.in.ChangeID, c.p.Phase)
	}
	return nil
}

func (c *change) mayReject(by string) error {
	if !may(c.policy.Approvers, by) && !slices.Contains(c.policy.CloudTrailAdmins, by) {
		return fmt.Errorf("%s may not reject this change: only approvers and CloudTrail administrators may", by)
	}
	return nil
}

func (c *change) reject(ctx workflow.Context, d Decision) (ChangeProgress, error) {
	who, err := c.decide(ctx, DecisionReject, d.Who, d.Binding(c.in.ChangeID, DecisionReject), func(by string) error {
		if err := c.rejectable(); err != nil {
			return err
		}
		return c.mayReject(by)
	})
	if err != nil {
		return c.p, err
	}
	d.Who = who
	c.rejected = &d
	c.recordWho(ctx, "", RecordRejected, []Who{who}, fmt.Sprintf("wave %d rejected by %s", c.p.CurrentWave, who)+comment(d.Comment))
	return c.p.Bounded(), nil
}

// awaitingCleanup lists the organizations of the current wave that await a
// cleanup confirmation, limited to one when org is set.
func (c *change) awaitingCleanup(org string) []string {
	var names []string
	for _, name := range c.p.Waves[c.p.CurrentWave-1].Organizations {
		if c.p.Targets[c.index[name]].Phase == PhaseAwaitingCleanup && (org == "" || org == name) {
			names = append(names, name)
		}
	}
	return names
}

func (c *change) validateConfirmCleanup(cc CleanupConfirmation) error {
	if err := c.cleanupProblem(cc); err != nil {
		return err
	}
	if err := invalid("confirmation", textProblems("the comment", cc.Comment, maxCommentLength)); err != nil {
		return err
	}
	return c.claimProblem(cc.Who, c.mayConfirmCleanup)
}

// cleanupProblem is what keeps a confirmation from fitting the change now.
func (c *change) cleanupProblem(cc CleanupConfirmation) error {
	if err := c.notEnded(); err != nil {
		return err
	}
	if cc.Organization != "" {
		if _, ok := c.index[cc.Organization]; !ok {
			return fmt.Errorf("organization %s is not part of change %s", cc.Organization, c.in.ChangeID)
		}
	}
	if len(c.awaitingCleanup(cc.Organization)) == 0 {
		if cc.Organization != "" {
			return fmt.Errorf("organization %s of change %s is not awaiting cleanup confirmation (%s)", cc.Organization, c.in.ChangeID, c.p.Targets[c.index[cc.Organization]].Phase)
		}
		return fmt.Errorf("change %s is %s: no organization awaits cleanup confirmation", c.in.ChangeID, c.p.Phase)
	}
	return nil
}

func (c *change) mayConfirmCleanup(by string) error {
	if !slices.Contains(c.policy.CloudTrailAdmins, by) {
		return fmt.Errorf("%s is not a CloudTrail administrator (approvals.cloudtrail_admins in the worker's configuration: %s)", by, strings.Join(c.policy.CloudTrailAdmins, ", "))
	}
	return nil
}

func (c *change) confirmCleanup(ctx workflow.Context, cc CleanupConfirmation) (ChangeProgress, error) {
	who, err := c.decide(ctx, DecisionConfirmCleanup, cc.Who, cc.Binding(c.in.ChangeID), func(by string) error {
		if err := c.cleanupProblem(cc); err != nil {
			return err
		}
		return c.mayConfirmCleanup(by)
	})
	if err != nil {
		return c.p, err
	}
	names := c.awaitingCleanup(cc.Organization)
	cc.Who = who
	c.recordWho(ctx, "", RecordCleanupConfirmed, []Who{who}, fmt.Sprintf("for %s by %s", strings.Join(names, ", "), who)+comment(cleanupDetail(cc)))
	for _, name := range names {
		c.tell(ctx, name, ParentDecision{Kind: ParentCleanupConfirmed, People: []Who{who}, Comment: cc.Comment, Acknowledge: cc.AcknowledgeMemberLoggingStops, Acknowledged: cc.Acknowledged(), At: workflow.Now(ctx)})
		// The target answers with a report; until then it is no longer
		// counted as awaiting this confirmation.
		c.p.Targets[c.index[name]].Phase = PhasePlanning
		c.reasked[name] = true
	}
	c.delivered(ctx)
	return c.p.Bounded(), nil
}

// mayControl: the requester and approvers steer a change.
func (c *change) mayControl(by string) error {
	if by != c.p.Requester && !may(c.policy.Approvers, by) {
		return fmt.Errorf("%s may not steer change %s: only the requester and approvers may", by, c.in.ChangeID)
	}
	return nil
}

// controlProblem is what keeps a control from fitting the change now.
func (c *change) controlProblem(kind DecisionKind) error {
	if err := c.notEnded(); err != nil {
		return err
	}
	switch {
	case kind == DecisionPause && c.p.Paused != nil:
		return fmt.Errorf("change %s is already paused by %s", c.in.ChangeID, c.p.Paused.By)
	case kind == DecisionResume && c.p.Paused == nil:
		return fmt.Errorf("change %s is not paused", c.in.ChangeID)
	case kind == DecisionCancel && c.cancelled != nil:
		return fmt.Errorf("change %s is already being cancelled by %s", c.in.ChangeID, c.cancelled.By)
	}
	return nil
}

func (c *change) validateControl(kind DecisionKind, ctl Control) error {
	if err := c.controlProblem(kind); err != nil {
		return err
	}
	if err := invalid(string(kind), textProblems("the reason", ctl.Reason, maxReasonLength)); err != nil {
		return err
	}
	return c.claimProblem(ctl.Who, c.mayControl)
}

// control proves and applies a pause, resume or cancel.
func (c *change) control(ctx workflow.Context, kind DecisionKind, ctl Control) (*Control, error) {
	who, err := c.decide(ctx, kind, ctl.Who, ctl.Binding(c.in.ChangeID, kind), func(by string) error {
		if err := c.controlProblem(kind); err != nil {
			return err
		}
		return c.mayControl(by)
	})
	if err != nil {
		return nil, err
	}
	ctl.Who, ctl.At = who, workflow.Now(ctx).UTC()
	return &ctl, nil
}

func (c *change) validatePause(ctl Control) error { return c.validateControl(DecisionPause, ctl) }

func (c *change) pause(ctx workflow.Context, ctl Control) (ChangeProgress, error) {
	return c.steer(ctx, DecisionPause, ctl, RecordPaused, func(done *Control) string {
		c.p.Paused = done
		return fmt.Sprintf("paused by %s: no further organization starts mutating", done.Who)
	})
}

func (c *change) validateResume(ctl Control) error { return c.validateControl(DecisionResume, ctl) }

func (c *change) resume(ctx workflow.Context, ctl Control) (ChangeProgress, error) {
	return c.steer(ctx, DecisionResume, ctl, RecordResumed, func(done *Control) string {
		c.p.Paused = nil
		return fmt.Sprintf("resumed by %s", done.Who)
	})
}

func (c *change) validateCancel(ctl Control) error { return c.validateControl(DecisionCancel, ctl) }

func (c *change) cancel(ctx workflow.Context, ctl Control) (ChangeProgress, error) {
	return c.steer(ctx, DecisionCancel, ctl, RecordCancelled, func(done *Control) string {
		c.cancelled = done
		return fmt.Sprintf("cancelled by %s: organizations not yet mutating stop with nothing changed", done.Who)
	})
}

// steer takes a proven control of the change: apply acts on it and says
// what it did, for the record.
func (c *change) steer(ctx workflow.Context, kind DecisionKind, ctl Control, recorded RecordKind, apply func(*Control) string) (ChangeProgress, error) {
	done, err := c.control(ctx, kind, ctl)
	if err != nil {
		return c.p, err
	}
	c.recordWho(ctx, "", recorded, []Who{done.Who}, apply(done)+comment(done.Reason))
	return c.p.Bounded(), nil
}

func cleanupDetail(c CleanupConfirmation) string {
	s := "CloudTrail-side cleanup confirmed"
	if ack := c.Acknowledged(); len(ack) > 0 {
		s += ", acknowledging " + describeImpacts(ack)
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
