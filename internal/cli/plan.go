package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

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
	if err := s.ask(ctx, question{
		workflowID: "plan-" + newChangeID(in.Action, s.now()),
		workflow:   workflows.PlanWorkflowName,
		input:      workflows.PlanInput{Action: in.Action, Organizations: selectedNames(s.cfg, in.Organizations, in.All)},
		summary:    fmt.Sprintf("plan: what %s would change", in.Action),
		timeout:    planTimeout,
		doing:      "plan " + string(in.Action),
	}, &res); err != nil {
		return err
	}
	if s.json {
		if err := writeJSON(s.stdout, res); err != nil {
			return err
		}
	} else {
		writePlan(s.stdout, res)
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

// writePlan prints a plan for people, organization by organization.
func writePlan(w io.Writer, res workflows.PlanResult) {
	fmt.Fprintf(w, "Plan: %s (read-only; nothing was changed)\n", actionPhrase(res.Action))
	for _, t := range res.Targets {
		fmt.Fprintf(w, "\n%s\n", t.Organization)
		if t.Error != "" {
			fmt.Fprintf(w, "  cannot plan: %s\n", shortError(t.Error))
			continue
		}
		if t.Plan != nil {
			c := t.Plan.Current
			fmt.Fprintf(w, "  now: organization %s, management account %s, trusted access %s, service-linked role %s",
				orDash(c.OrganizationID), orDash(c.ManagementAccountID), onOff(c.TrustedAccess), present(c.ServiceLinkedRole))
			if c.Trail != nil {
				fmt.Fprintf(w, ", trail %s (organization trail %s, logging %s)", c.Trail.Name, yesNo(c.Trail.IsOrganizationTrail), onOff(c.Trail.IsLogging))
			}
			fmt.Fprintln(w)
			if t.Plan.Empty() {
				fmt.Fprintln(w, "  plan: nothing to do")
			}
			for i, st := range t.Plan.Steps {
				fmt.Fprintf(w, "  %d. %s\n", i+1, st.Description)
			}
		}
		if inv := t.Inventory; inv != nil {
			if inv.Empty() {
				fmt.Fprintln(w, "  impact: nothing depends on trusted access")
			}
			for _, tr := range inv.OrganizationTrails {
				fmt.Fprintf(w, "  impact: organization trail %s (%s, logging %s%s) stops logging for member accounts\n", tr.ARN, tr.HomeRegion, onOff(tr.IsLogging), ownerSuffix(tr.OwnerHint))
			}
			for _, ds := range inv.EventDataStores {
				fmt.Fprintf(w, "  impact: organization event data store %s\n", ds)
			}
			for _, a := range inv.DelegatedAdministrators {
				fmt.Fprintf(w, "  impact: CloudTrail delegated administrator %s\n", a)
			}
		}
	}
}
