package cli

import (
	"context"
	"fmt"
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

// A plan over many organizations runs as several plans of planBatch
// organizations, planAtOnce of them at a time, and is shown as each ends,
// in order: the first organizations show within seconds, and no answer
// outgrows Temporal's payload limits.
const (
	planBatch  = 100
	planAtOnce = 4
)

// planInBatches plans names in batches with plan, at most planAtOnce at a
// time, and hands each batch's result to show in the order of names. The
// first error stops it.
func planInBatches(ctx context.Context, names []string, plan func(context.Context, int, []string) (workflows.PlanResult, error), show func(workflows.PlanResult)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		res workflows.PlanResult
		err error
	}
	var answers []chan answer
	slots := make(chan struct{}, planAtOnce)
	for n, from := 0, 0; from < len(names); n, from = n+1, from+planBatch {
		batch := names[from:min(from+planBatch, len(names))]
		done := make(chan answer, 1)
		answers = append(answers, done)
		go func() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				done <- answer{err: ctx.Err()}
				return
			}
			defer func() { <-slots }()
			res, err := plan(ctx, n, batch)
			done <- answer{res, err}
		}()
	}
	for _, done := range answers {
		a := <-done
		if a.err != nil {
			return a.err
		}
		show(a.res)
	}
	return nil
}

// Plan reads the organizations and prints what the change would do to each.
// It never mutates AWS. An organization that cannot be read makes it exit
// with status 1.
func Plan(ctx context.Context, s *session, in PlanCommandInput) error {
	if err := in.validate(s.cfg); err != nil {
		return err
	}
	res := workflows.PlanResult{Action: in.Action}
	if !s.out.json {
		writePlanHeader(s.out.stdout, in.Action)
	}
	id := "plan-" + newChangeID(in.Action, s.now())
	err := planInBatches(ctx, selectedNames(s.cfg, in.Organizations, in.All), func(ctx context.Context, n int, names []string) (workflows.PlanResult, error) {
		var part workflows.PlanResult
		err := s.changes.ask(ctx, question{
			workflowID: fmt.Sprintf("%s-%d", id, n),
			workflow:   workflows.PlanWorkflowName,
			input:      workflows.PlanInput{Action: in.Action, Organizations: names},
			summary:    fmt.Sprintf("plan: what %s would change", in.Action),
			timeout:    planTimeout,
			doing:      "plan " + string(in.Action),
		}, &part)
		return part, err
	}, func(part workflows.PlanResult) {
		res.Targets = append(res.Targets, part.Targets...)
		if !s.out.json {
			writePlanTargets(s.out.stdout, part.Targets)
		}
	})
	if err != nil {
		return err
	}
	if s.out.json {
		if err := writeJSON(s.out.stdout, res); err != nil {
			return err
		}
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
