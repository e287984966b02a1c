package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// regate holds the gates again for targets that came back to one after
// their release, because right before acting AWS no longer matched what
// was approved and confirmed: the CloudTrail administrator confirms a
// changed inventory again, and approvers approve a changed plan anew
// (their earlier approvals were for another plan), whatever the wave's
// policy said before. Expiry, reject and cancel work as at any gate.
func (c *change) regate(ctx workflow.Context, wave *WaveProgress) {
	for !c.stopped() && c.waveAny(wave, func(t TargetSummary) bool { return t.Phase == PhaseAwaitingCleanup }) {
		seen := c.news
		c.updateAwaitingCleanup(ctx, wave)
		c.awaitGate(ctx, wave, func() bool { return c.news != seen || c.stopped() })
	}
	c.updateAwaitingCleanup(ctx, wave)
	waiting := c.waveWhere(wave, func(t TargetSummary) bool { return t.Phase == PhaseAwaitingApproval })
	if len(waiting) > 0 && !c.stopped() {
		wave.NeedsApproval = true
		wave.Approvals = []Decision{}
		wave.Round = wave.ApprovalRound() + 1
		c.awaitApproval(ctx, wave, fmt.Sprintf("%d approval(s) of wave %d again: the plan of %s changed since it was approved", c.policy.RequiredApprovals, wave.Number, strings.Join(waiting, ", ")), func() bool {
			return !c.waveAny(wave, func(t TargetSummary) bool { return t.Phase == PhaseAwaitingApproval })
		})
	}
	c.passGate(ctx, wave)
	wave.Phase = PhaseApplying
	if !c.p.Phase.Final() {
		c.setPhase(ctx, PhaseApplying)
	}
}

// waveWhere names the wave's organizations whose targets match.
func (c *change) waveWhere(wave *WaveProgress, match func(TargetSummary) bool) []string {
	var out []string
	for _, name := range wave.Organizations {
		if match(c.p.Targets[c.index[name]]) {
			out = append(out, name)
		}
	}
	return out
}
