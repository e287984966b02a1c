package cli

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"

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
	if err := in.validate(); err != nil {
		return err
	}
	verb := map[string]string{workflows.UpdateApprove: "approve", workflows.UpdateReject: "reject"}[in.Update]
	decider, err := s.person(ctx, in.Identity)
	if err != nil {
		return err
	}
	if err := s.requireRunning(ctx, in.ChangeID, verb); err != nil {
		return err
	}
	now, err := s.query(ctx, in.ChangeID)
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
	p, err := s.update(ctx, in.ChangeID, in.Update, verb, d)
	if err != nil {
		return err
	}
	if !s.json {
		past := map[string]string{workflows.UpdateApprove: "approved", workflows.UpdateReject: "rejected"}[in.Update]
		fmt.Fprintf(s.stdout, "%s %s change %s%s.\n", provenAs(p, d.Who), past, in.ChangeID, waveSuffix(wave, p))
	}
	return s.afterDecision(ctx, p, in.Wait)
}

// provenAs names the person behind the decision a change just took, as the
// worker proved them: "alice (arn:…)", or "alice (claimed, not verified)".
func provenAs(p workflows.ChangeProgress, sent workflows.Who) string {
	if who, ok := lastDecider(p); ok {
		return who.String()
	}
	return sent.By
}

func waveSuffix(wave int, p workflows.ChangeProgress) string {
	if wave == 0 || len(p.Waves) < 2 {
		return ""
	}
	return fmt.Sprintf(" (wave %d of %d)", wave, len(p.Waves))
}

// decide sends a decision to a change that must be running, and returns
// its progress after the decision. An ended or unknown change and a refusal
// each come back as a clear usage error.
func (s *session) decide(ctx context.Context, changeID, name, doing string, arg any) (workflows.ChangeProgress, error) {
	if err := s.requireRunning(ctx, changeID, doing); err != nil {
		return workflows.ChangeProgress{}, err
	}
	return s.update(ctx, changeID, name, doing, arg)
}

// update sends a decision to a change and returns its progress after the
// decision.
func (s *session) update(ctx context.Context, changeID, name, doing string, arg any) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	uctx, cancel := context.WithTimeout(ctx, decisionTimeout)
	defer cancel()
	h, err := s.client.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID:   changeID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return p, explain(err, changeID, doing)
	}
	if err := h.Get(uctx, &p); err != nil {
		return p, explain(err, changeID, doing)
	}
	return p, nil
}

// afterDecision prints where the change stands after a decision and, with
// wait, follows it to its next gate or its end.
func (s *session) afterDecision(ctx context.Context, p workflows.ChangeProgress, wait bool) error {
	if !wait {
		if s.json {
			return writeJSON(s.stdout, p)
		}
		fmt.Fprintln(s.stdout, "  "+statusLine(p))
		return nil
	}
	s.printLink(p.ChangeID)
	final, err := s.follow(ctx, p.ChangeID, followOptions{until: followToGate, from: &p})
	if err != nil {
		return err
	}
	if s.json {
		if err := writeJSON(s.stdout, final); err != nil {
			return err
		}
	}
	if final.Phase.Final() {
		return outcomeError(final)
	}
	return nil
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
		Args:    changeIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.ChangeID = args[0]
			return run(cmd, open, func(ctx context.Context, s *session) error { return Decide(ctx, s, in) })
		},
	}
	cmd.Flags().IntVar(&in.Wave, "wave", 0, "the wave decided on (default: the wave the change is at)")
	cmd.Flags().StringVar(&in.Comment, "comment", "", "comment for the record")
	addIdentityFlags(cmd.Flags(), &in.Identity, "approver")
	cmd.Flags().BoolVar(&in.Wait, "wait", false, "then follow the change until its next gate or its end")
	return cmd
}
