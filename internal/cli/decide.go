package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/workflows"
)

// DecisionCommandInput is an approval or a rejection at a change's gate:
// `trailgate approve` and `trailgate reject`.
type DecisionCommandInput struct {
	// Update is workflows.UpdateApprove or workflows.UpdateReject.
	Update   string
	ChangeID string
	// Wave is the wave decided on (1-based); zero means the wave the change
	// is at when the command asks it.
	Wave     int
	Comment  string
	Identity IdentityFlags
	Wait     bool
}

func (in DecisionCommandInput) validate() error {
	var problems []string
	if in.Update != workflows.UpdateApprove && in.Update != workflows.UpdateReject {
		problems = append(problems, fmt.Sprintf("unknown decision %q", in.Update))
	}
	problems = append(problems, changeIDProblems(in.ChangeID)...)
	if in.Wave < 0 {
		problems = append(problems, "--wave is a wave number, 1 or more (0: the wave awaiting a decision)")
	}
	problems = append(problems, in.Identity.problems()...)
	return problemsError(problems)
}

func changeIDProblems(id string) []string {
	if id == "" {
		return []string{"say which change: trailgate <command> <change-id>; `trailgate list` shows the changes"}
	}
	if err := workflows.ValidateChangeID(id); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// Decide approves or rejects a change as the person who proves it. A proof
// names the wave it decides on: the one asked for, else the one the change
// is at. A refusal comes back with the worker's reason (exit status 2).
func Decide(ctx context.Context, s *session, in DecisionCommandInput) error {
	verb := map[string]string{workflows.UpdateApprove: "approve", workflows.UpdateReject: "reject"}[in.Update]
	decider, err := s.decider(ctx, in.validate(), in.Identity)
	if err != nil {
		return err
	}
	if err := s.changes.requireRunning(ctx, in.ChangeID, verb); err != nil {
		return err
	}
	now, err := s.changes.query(ctx, in.ChangeID)
	if err != nil {
		return err
	}
	wave := in.Wave
	if wave == 0 {
		wave = now.CurrentWave
	}
	d := workflows.Decision{Who: decider.who(), Comment: strings.TrimSpace(in.Comment), Wave: wave}
	if wave >= 1 && wave <= len(now.Waves) && now.Waves[wave-1].ApprovalRound() > 1 {
		// The plan changed since the wave's first approval: the decision
		// is for the round the change asks for now.
		d.Round = now.Waves[wave-1].ApprovalRound()
	}
	if d.Who, err = decider.prove(ctx, d.Binding(in.ChangeID, workflows.DecisionKind(in.Update))); err != nil {
		return err
	}
	p, err := s.changes.update(ctx, in.ChangeID, in.Update, verb, d)
	if err != nil {
		return err
	}
	if !s.out.json {
		past := map[string]string{workflows.UpdateApprove: "approved", workflows.UpdateReject: "rejected"}[in.Update]
		writeDecided(s.out.stdout, p, d.Who, past, in.ChangeID+waveSuffix(wave, p))
	}
	return s.afterDecision(ctx, p, in.Wait)
}

// afterDecision prints where the change stands after a decision and, with
// wait, follows it to its next gate or its end.
func (s *session) afterDecision(ctx context.Context, p workflows.ChangeProgress, wait bool) error {
	if !wait {
		return s.out.print(p, func(w io.Writer) { fmt.Fprintln(w, "  "+statusLine(p)) })
	}
	s.out.printLink(p.ChangeID)
	return s.followAndReport(ctx, p.ChangeID, followOptions{until: followToGate, from: &p})
}

func newDecisionCommand(update string, open openSession) *cobra.Command {
	in := DecisionCommandInput{Update: update}
	short := "Approve the wave of a change that awaits approval"
	if update == workflows.UpdateReject {
		short = "Reject a change at its gate; nothing more is changed"
	}
	cmd := &cobra.Command{
		Use:   update + " <change-id>",
		Short: short,
		Long: withIdentityHelp(short + `.

The proof names the wave decided on: --wave, else the wave the change is at
when the command asks it. The worker applies the gate policy in force for the
change to the person it proves.`),
		Example: fmt.Sprintf("  trailgate %s enable-20260101-020000-ab12 --profile alice --comment \"CAB approved\"", update),
	}
	aboutChange(cmd, open, &in.ChangeID, func(ctx context.Context, s *session) error { return Decide(ctx, s, in) })
	cmd.Flags().IntVar(&in.Wave, "wave", 0, "the wave decided on (default: the wave the change is at)")
	cmd.Flags().StringVar(&in.Comment, "comment", "", "comment for the record")
	addDeciderFlags(cmd.Flags(), &in.Identity, "approver", &in.Wait, followToGateHelp)
	return cmd
}
