package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

// PlanCommandInput asks what a change would do: `trailgate plan enable|disable`.
// Planning only reads AWS.
type PlanCommandInput struct {
	Action        workflows.Action
	Organizations []string
	All           bool
}

func (in PlanCommandInput) validate(cfg config.Config) error {
	var problems []string
	switch in.Action {
	case workflows.ActionEnable, workflows.ActionDisable, workflows.ActionRollback:
	default:
		problems = append(problems, fmt.Sprintf("plan what? write `trailgate plan enable` or `trailgate plan disable`, not %q", in.Action))
	}
	problems = append(problems, selectionProblems(cfg, in.Organizations, in.All)...)
	return problemsError(problems)
}

// planTimeout bounds a plan: a few reads per organization.
const planTimeout = 5 * time.Minute

// Plan reads the organizations and prints what the change would do to each.
// It never mutates AWS. An organization that cannot be read makes it exit
// with status 1.
func Plan(ctx context.Context, s *session, in PlanCommandInput) error {
	if err := in.validate(s.cfg); err != nil {
		return err
	}
	var res workflows.PlanResult
	if err := s.changes.ask(ctx, question{
		workflowID: "plan-" + newChangeID(in.Action, s.now()),
		workflow:   workflows.PlanWorkflowName,
		input:      workflows.PlanInput{Action: in.Action, Organizations: selectedNames(s.cfg, in.Organizations, in.All)},
		summary:    fmt.Sprintf("plan: what %s would change", in.Action),
		timeout:    planTimeout,
		doing:      "plan " + string(in.Action),
	}, &res); err != nil {
		return err
	}
	if err := s.out.print(res, func(w io.Writer) { writePlan(w, res) }); err != nil {
		return err
	}
	var failed []string
	for _, t := range res.Targets {
		if t.Error != "" {
			failed = append(failed, t.Organization)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("plan %s: could not read %s", in.Action, strings.Join(failed, ", "))
	}
	return nil
}

func newPlanCommand(open openSession) *cobra.Command {
	var in PlanCommandInput
	cmd := &cobra.Command{
		Use:   "plan enable|disable (--org NAME ... | --all)",
		Short: "Show what enable or disable would change in each organization; reads only, never mutates",
		Example: "  trailgate plan enable --all\n" +
			"  trailgate plan disable --org acme-prod --json",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{string(workflows.ActionEnable), string(workflows.ActionDisable)},
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := workflows.ParseAction(args[0])
			if err != nil || a == workflows.ActionRollback {
				return usage(fmt.Errorf("plan what? write `trailgate plan enable` or `trailgate plan disable`, not %q", args[0]))
			}
			in.Action = a
			return run(cmd, open, func(ctx context.Context, s *session) error { return Plan(ctx, s, in) })
		},
	}
	cmd.Flags().StringArrayVar(&in.Organizations, "org", nil, "organization to plan, by its name in the worker's configuration (repeatable)")
	cmd.Flags().BoolVar(&in.All, "all", false, "plan every organization of the configuration")
	return cmd
}
