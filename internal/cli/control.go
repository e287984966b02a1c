package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/workflows"
)

// ControlCommandInput pauses, resumes or cancels a change: `trailgate
// pause`, `trailgate resume` and `trailgate cancel`.
type ControlCommandInput struct {
	// Update is workflows.UpdatePause, UpdateResume or UpdateCancel.
	Update   string
	ChangeID string
	Reason   string
	Identity IdentityFlags
	Wait     bool
}

func (in ControlCommandInput) validate() error {
	var problems []string
	switch in.Update {
	case workflows.UpdatePause, workflows.UpdateResume, workflows.UpdateCancel:
	default:
		problems = append(problems, fmt.Sprintf("unknown control %q", in.Update))
	}
	problems = append(problems, changeIDProblems(in.ChangeID)...)
	if in.Update != workflows.UpdateResume && strings.TrimSpace(in.Reason) == "" {
		problems = append(problems, fmt.Sprintf("say why with --reason: the reason to %s goes into the change record", in.Update))
	}
	problems = append(problems, in.Identity.problems()...)
	return problemsError(problems)
}

// Control pauses, resumes or cancels a change as the person who proves it.
func Control(ctx context.Context, s *session, in ControlCommandInput) error {
	steerer, err := s.decider(ctx, in.validate(), in.Identity)
	if err != nil {
		return err
	}
	c := workflows.Control{Who: steerer.who(), Reason: strings.TrimSpace(in.Reason)}
	if c.Who, err = steerer.prove(ctx, c.Binding(in.ChangeID, workflows.DecisionKind(in.Update))); err != nil {
		return err
	}
	p, err := s.changes.decide(ctx, in.ChangeID, in.Update, in.Update, c)
	if err != nil {
		return err
	}
	if !s.out.json {
		past := map[string]string{workflows.UpdatePause: "paused", workflows.UpdateResume: "resumed", workflows.UpdateCancel: "cancelled"}[in.Update]
		writeDecided(s.out.stdout, p, c.Who, past, in.ChangeID)
	}
	return s.afterDecision(ctx, p, in.Wait)
}

func newControlCommand(update string, open openSession) *cobra.Command {
	in := ControlCommandInput{Update: update}
	short := map[string]string{
		workflows.UpdatePause:  "Pause a change: no further organization starts mutating",
		workflows.UpdateResume: "Resume a paused change",
		workflows.UpdateCancel: "Cancel a change: organizations not yet mutating stop with nothing changed",
	}[update]
	cmd := &cobra.Command{
		Use:     update + " <change-id>",
		Short:   short,
		Long:    withIdentityHelp(short + ".\n\nThe requester and approvers steer a change."),
		Example: fmt.Sprintf("  trailgate %s enable-20260101-020000-ab12 --reason \"incident INC-42\" --profile alice", update),
	}
	aboutChange(cmd, open, &in.ChangeID, func(ctx context.Context, s *session) error { return Control(ctx, s, in) })
	cmd.Flags().StringVar(&in.Reason, "reason", "", "why, for the record (required to pause or cancel)")
	addDeciderFlags(cmd.Flags(), &in.Identity, "requester or approver", &in.Wait, followToGateHelp)
	return cmd
}
