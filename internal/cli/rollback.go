package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/workflows"
)

// RollbackCommandInput starts the rollback of a change: `trailgate
// rollback`. A rollback re-enables trusted access on the original change's
// organizations and verifies that their organization trails log again.
type RollbackCommandInput struct {
	ChangeID string
	// RollbackID names the new change; empty means <change-id>-rollback.
	RollbackID string
	Reason     string
	Identity   IdentityFlags
	Wait       bool
}

func (in RollbackCommandInput) validate() error {
	problems := changeIDProblems(in.ChangeID)
	if in.RollbackID != "" {
		if err := workflows.ValidateChangeID(in.RollbackID); err != nil {
			problems = append(problems, err.Error())
		}
	}
	problems = append(problems, in.Identity.problems()...)
	return problemsError(problems)
}

// Rollback starts a change with action rollback over the organizations of
// an ended disable change.
func Rollback(ctx context.Context, s *session, in RollbackCommandInput) error {
	requester, err := s.decider(ctx, in.validate(), in.Identity)
	if err != nil {
		return err
	}
	orig, e, err := s.changes.progress(ctx, in.ChangeID)
	if err != nil {
		return err
	}
	if orig.Action != workflows.ActionDisable {
		return usage(fmt.Errorf("change %s was %s, not disable: a rollback re-enables trusted access after a disable; to undo an enable, start `trailgate disable`", in.ChangeID, orig.Action))
	}
	if e.Running() {
		return usage(fmt.Errorf("change %s is still running (%s): cancel it first (`trailgate cancel %s --reason ...`), then roll it back", in.ChangeID, orig.Phase, in.ChangeID))
	}
	names := make([]string, 0, len(orig.Targets))
	for _, t := range orig.Targets {
		names = append(names, t.Organization)
	}
	id := in.RollbackID
	if id == "" {
		id = in.ChangeID + "-rollback"
		if err := workflows.ValidateChangeID(id); err != nil {
			return usage(fmt.Errorf("%w; choose one with --change-id", err))
		}
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		reason = "rollback of change " + in.ChangeID
	}
	cmd := ChangeCommandInput{Action: workflows.ActionRollback, Organizations: names, ChangeID: id, Reason: reason}
	ci, err := cmd.changeInput(s.cfg, s.now())
	if err != nil {
		return err
	}
	st, err := s.startChange(ctx, requester, ci)
	if err != nil {
		return err
	}
	return s.reportStart(ctx, st, in.Wait)
}

func newRollbackCommand(open openSession) *cobra.Command {
	var in RollbackCommandInput
	short := "Roll back an ended disable: a new change re-enables trusted access on its organizations and verifies logging"
	cmd := &cobra.Command{
		Use:     "rollback <change-id>",
		Short:   short,
		Long:    withIdentityHelp(short + ".\n\nThe rollback is a change of its own, with its own gates, requested by you."),
		Example: "  trailgate rollback disable-20260101-020000-ab12 --reason \"member accounts need their trails\" --profile dave",
	}
	aboutChange(cmd, open, &in.ChangeID, func(ctx context.Context, s *session) error { return Rollback(ctx, s, in) })
	cmd.Flags().StringVar(&in.RollbackID, "change-id", "", "ID of the rollback change (default <change-id>-rollback)")
	cmd.Flags().StringVar(&in.Reason, "reason", "", "why, for the record")
	addDeciderFlags(cmd.Flags(), &in.Identity, "requester", &in.Wait, "follow the rollback until it ends")
	return cmd
}
