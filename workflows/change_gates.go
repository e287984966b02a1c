package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// registerHandlers sets up the change's progress query, the people's
// updates (validators refuse without a trace in history) and the targets'
// reports.
func (c *change) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (ChangeProgress, error) { return c.p, nil }); err != nil {
		return err
	}
	if err := setUpdateHandlers(ctx, []updateHandler{
		{UpdateApprove, c.approve, c.validateApprove, "Approve the wave awaiting approval"},
		{UpdateReject, c.reject, c.validateReject, "Reject the change at its gate; nothing more is changed"},
		{UpdateConfirmCleanup, c.confirmCleanup, c.validateConfirmCleanup, "The CloudTrail administrator confirms cleanup for one or every organization"},
		{UpdatePause, c.pause, c.validatePause, "Pause: no further organization starts mutating"},
		{UpdateResume, c.resume, c.validateResume, "Resume a paused change"},
		{UpdateCancel, c.cancel, c.validateCancel, "Cancel: organizations not yet mutating stop with nothing changed"},
	}); err != nil {
		return err
	}
	reports := workflow.GetSignalChannel(ctx, SignalTargetReport)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var r TargetReport
			reports.Receive(ctx, &r)
			c.onReport(r)
		}
	})
	return nil
}

func (c *change) notEnded() error {
	if c.p.Phase.Final() {
		return fmt.Errorf("change %s has ended (%s): nothing is left to decide", c.in.ChangeID, c.p.Phase)
	}
	return nil
}

func (c *change) validateApprove(d Decision) error {
	if err := c.notEnded(); err != nil {
		return err
	}
	if c.p.Phase != PhaseAwaitingApproval {
		return fmt.Errorf("change %s is %s, not awaiting approval", c.in.ChangeID, c.p.Phase)
	}
	if d.Wave != 0 && d.Wave != c.p.CurrentWave {
		return fmt.Errorf("change %s awaits approval of wave %d, not wave %d", c.in.ChangeID, c.p.CurrentWave, d.Wave)
	}
	return checkApprover(c.in.Policy, c.in.Requester, c.p.Waves[c.p.CurrentWave-1].Approvals, d.By)
}

func (c *change) approve(ctx workflow.Context, d Decision) (ChangeProgress, error) {
	d.Wave = c.p.CurrentWave
	wave := &c.p.Waves[c.p.CurrentWave-1]
	wave.Approvals = append(wave.Approvals, d)
	if len(wave.Approvals) >= c.in.Policy.RequiredApprovals {
		c.p.Awaiting = nil
	}
	c.record(ctx, "", "approved", []string{d.By}, fmt.Sprintf("wave %d: approval %d of %d", d.Wave, len(wave.Approvals), c.in.Policy.RequiredApprovals)+comment(d.Comment))
	return c.p, nil
}

func (c *change) validateReject(d Decision) error {
	if err := c.notEnded(); err != nil {
		return err
	}
	if c.p.Phase != PhaseAwaitingApproval && c.p.Phase != PhaseAwaitingCleanup {
		return fmt.Errorf("change %s is %s: only a waiting gate can be rejected", c.in.ChangeID, c.p.Phase)
	}
	if d.By == "" {
		return fmt.Errorf("say who rejects (--as)")
	}
	if !allowed(c.in.Policy.Approvers, d.By) && !slices.Contains(c.in.Policy.CloudTrailAdmins, d.By) {
		return fmt.Errorf("%s may not reject this change: only approvers and CloudTrail administrators may", d.By)
	}
	return nil
}

func (c *change) reject(ctx workflow.Context, d Decision) (ChangeProgress, error) {
	c.rejected = &d
	c.record(ctx, "", "rejected", []string{d.By}, fmt.Sprintf("wave %d rejected", c.p.CurrentWave)+comment(d.Comment))
	return c.p, nil
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
	if err := c.notEnded(); err != nil {
		return err
	}
	if cc.By == "" {
		return fmt.Errorf("say who confirms (--as)")
	}
	if !slices.Contains(c.in.Policy.CloudTrailAdmins, cc.By) {
		return fmt.Errorf("%s is not a CloudTrail administrator (approvals.cloudtrail_admins: %s)", cc.By, strings.Join(c.in.Policy.CloudTrailAdmins, ", "))
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

func (c *change) confirmCleanup(ctx workflow.Context, cc CleanupConfirmation) (ChangeProgress, error) {
	names := c.awaitingCleanup(cc.Organization)
	c.record(ctx, "", "cleanup-confirmed", []string{cc.By}, fmt.Sprintf("for %s", strings.Join(names, ", "))+comment(cleanupDetail(cc)))
	for _, name := range names {
		one := cc
		one.Organization = name
		c.tell(ctx, name, ParentDecision{Kind: UpdateConfirmCleanup, By: []string{cc.By}, Cleanup: one, At: workflow.Now(ctx)})
		// The target answers with a report; until then it is no longer
		// counted as awaiting this confirmation.
		c.p.Targets[c.index[name]].Phase = PhasePlanning
	}
	return c.p, nil
}

func (c *change) mayControl(ctl Control) error {
	if err := c.notEnded(); err != nil {
		return err
	}
	if ctl.By == "" {
		return fmt.Errorf("say who you are (--as)")
	}
	if ctl.By != c.in.Requester && !allowed(c.in.Policy.Approvers, ctl.By) {
		return fmt.Errorf("%s may not steer change %s: only the requester and approvers may", ctl.By, c.in.ChangeID)
	}
	return nil
}

func (c *change) validatePause(ctl Control) error {
	if err := c.mayControl(ctl); err != nil {
		return err
	}
	if c.p.Paused != nil {
		return fmt.Errorf("change %s is already paused by %s", c.in.ChangeID, c.p.Paused.By)
	}
	return nil
}

func (c *change) pause(ctx workflow.Context, ctl Control) (ChangeProgress, error) {
	c.p.Paused = &ctl
	c.record(ctx, "", "paused", []string{ctl.By}, "paused: no further organization starts mutating"+comment(ctl.Reason))
	return c.p, nil
}

func (c *change) validateResume(ctl Control) error {
	if err := c.mayControl(ctl); err != nil {
		return err
	}
	if c.p.Paused == nil {
		return fmt.Errorf("change %s is not paused", c.in.ChangeID)
	}
	return nil
}

func (c *change) resume(ctx workflow.Context, ctl Control) (ChangeProgress, error) {
	c.p.Paused = nil
	c.record(ctx, "", "resumed", []string{ctl.By}, "resumed"+comment(ctl.Reason))
	return c.p, nil
}

func (c *change) validateCancel(ctl Control) error {
	if err := c.mayControl(ctl); err != nil {
		return err
	}
	if c.cancelled != nil {
		return fmt.Errorf("change %s is already being cancelled by %s", c.in.ChangeID, c.cancelled.By)
	}
	return nil
}

func (c *change) cancel(ctx workflow.Context, ctl Control) (ChangeProgress, error) {
	c.cancelled = &ctl
	c.record(ctx, "", "cancelled", []string{ctl.By}, "cancelled: organizations not yet mutating stop with nothing changed"+comment(ctl.Reason))
	return c.p, nil
}
