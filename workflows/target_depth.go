package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// Flag is the trailgate confirm-cleanup flag that acknowledges the impact.
func (i Impact) Flag() string {
	switch i {
	case ImpactEventDataStores:
		return "--acknowledge-event-data-stores"
	case ImpactDelegatedAdministrators:
		return "--acknowledge-delegated-administrators"
	}
	return "--acknowledge-member-logging-stops"
}

// phrase says what stops, for a record.
func (i Impact) phrase() string {
	switch i {
	case ImpactEventDataStores:
		return "that organization event data stores stop collecting member accounts' events"
	case ImpactDelegatedAdministrators:
		return "that CloudTrail's delegated administrators lose their organization-wide access"
	}
	return "that organization trails stop logging for member accounts"
}

func describeImpacts(impacts []Impact) string {
	parts := make([]string, 0, len(impacts))
	for _, i := range impacts {
		parts = append(parts, i.phrase())
	}
	return strings.Join(parts, " and ")
}

// acknowledged lists what a forwarded confirmation acknowledges; a
// confirmation forwarded before kinds existed acknowledged trails alone.
func (d ParentDecision) acknowledged() []Impact {
	if len(d.Acknowledged) > 0 || !d.Acknowledge {
		return d.Acknowledged
	}
	return []Impact{ImpactOrganizationTrails}
}

// unacknowledged is what an inventory holds that a confirmation does not
// acknowledge, said as the gate's request.
func unacknowledged(inv Inventory, d ParentDecision) string {
	var parts, flags []string
	for _, i := range Impacts(inv) {
		if slices.Contains(d.acknowledged(), i) {
			continue
		}
		flags = append(flags, i.Flag())
		of := strings.Join(i.Of(inv), ", ")
		switch i {
		case ImpactOrganizationTrails:
			parts = append(parts, fmt.Sprintf("%d organization trail(s) stop logging for member accounts (%s)", len(inv.OrganizationTrails), of))
		case ImpactEventDataStores:
			parts = append(parts, fmt.Sprintf("%d organization event data store(s) stop collecting member accounts' events (%s)", len(inv.EventDataStores), of))
		case ImpactDelegatedAdministrators:
			parts = append(parts, fmt.Sprintf("CloudTrail delegated administrator(s) %s lose their organization-wide access", of))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("cleanup confirmation that acknowledges what stops: %s; confirm with %s", strings.Join(parts, "; "), strings.Join(flags, " "))
}

// addedImpact is what inv holds that the inventory confirmed did not.
func addedImpact(confirmed, inv Inventory) []string {
	var added []string
	for _, t := range inv.OrganizationTrails {
		if !slices.Contains(confirmed.TrailARNs(), t.ARN) {
			added = append(added, "organization trail "+t.ARN)
		}
	}
	for _, e := range inv.EventDataStores {
		if !slices.Contains(confirmed.EventDataStores, e) {
			added = append(added, "organization event data store "+e)
		}
	}
	for _, d := range inv.DelegatedAdministrators {
		if !slices.Contains(confirmed.DelegatedAdministrators, d) {
			added = append(added, "delegated administrator "+d)
		}
	}
	return added
}

// stillMatches is the record of a recheck that found AWS as approved.
const stillMatches = "right before acting, AWS still matches what was approved"

// replanner plans again from a fresh read; blocked says why the plan
// cannot go ahead.
type replanner func(now State) (plan Plan, blocked string)

// recheck reads AWS again right before the first mutation. When AWS no
// longer matches what was approved and confirmed, it changes nothing,
// records the difference and returns to the gate that must see it: the
// CloudTrail administrator's confirmation for a changed inventory (a
// disable), approval for a plan with new steps. A plan that merely shrank,
// someone having done part of it by hand, goes ahead and says so; one that
// shrank to nothing ends the target as no change. It returns the plan and
// state to act on.
func (t *target) recheck(ctx workflow.Context, org activities.OrgInput, approved Plan, replan replanner, inventory bool) (Plan, State, bool, error) {
	return t.recheckFrom(ctx, org, approved, replan, inventory, nil)
}

// recheckFrom is recheck, with read, when set, as its first read of AWS.
// The activity that read it reads again before acting: after approval
// again, the recheck returns to it instead of reading itself.
func (t *target) recheckFrom(ctx workflow.Context, org activities.OrgInput, approved Plan, replan replanner, inventory bool, read *State) (Plan, State, bool, error) {
	readsAgain := read != nil
	for {
		var now State
		if read != nil {
			now, read = *read, nil
		} else if err := t.call(ctx, "Read "+org.Organization+" again before acting", a.ReadState, org, &now); err != nil {
			return approved, now, false, err
		}
		plan, blocked := replan(now)
		if blocked != "" {
			return t.blocked(ctx, org, plan, blocked)
		}
		if inventory && t.progress.Inventory != nil {
			confirmed := *t.progress.Inventory
			var inv Inventory
			if err := t.call(ctx, "Impact inventory of "+org.Organization+" again before acting", a.TakeInventory, org, &inv); err != nil {
				return approved, now, false, err
			}
			if added := addedImpact(confirmed, inv); len(added) > 0 {
				t.progress.Inventory = &inv
				t.record(ctx, RecordRecheck, nil, fmt.Sprintf("since the CloudTrail administrator confirmed cleanup, AWS shows %s; nothing was changed: the confirmation must be given again", strings.Join(added, ", ")))
				t.confirmed = nil
				if done, err := t.cleanupGate(ctx, org); done || err != nil {
					return approved, now, done, err
				}
				continue
			}
		}
		if added := newSteps(approved, plan); len(added) > 0 {
			t.progress.Plan = &plan
			t.record(ctx, RecordRecheck, nil, fmt.Sprintf("since approval the plan has new steps (%s); nothing was changed: the plan needs approval again", DescribeSteps(added)))
			t.released = false
			if done, err := t.awaitRelease(ctx); done || err != nil || readsAgain {
				return plan, now, done, err
			}
			approved = plan
			continue
		}
		if gone := goneSteps(approved, plan); len(gone) > 0 {
			t.progress.Plan = &plan
			if plan.Empty() {
				t.record(ctx, RecordRecheck, nil, fmt.Sprintf("since approval AWS shows every step done by hand (%s): nothing left to do", DescribeSteps(gone)))
				t.setPhase(ctx, PhaseNoChange)
				return plan, now, true, nil
			}
			t.record(ctx, RecordRecheck, nil, fmt.Sprintf("since approval AWS shows some steps done by hand (%s): going ahead with the rest (%s)", DescribeSteps(gone), DescribeSteps(plan.Steps)))
			return plan, now, false, nil
		}
		t.record(ctx, RecordRecheck, nil, stillMatches)
		return plan, now, false, nil
	}
}

// blocked ends a target whose plan cannot go ahead, saying why.
func (t *target) blocked(ctx workflow.Context, org activities.OrgInput, plan Plan, why string) (Plan, State, bool, error) {
	t.progress.Plan = &plan
	t.record(ctx, RecordPlan, nil, "blocked: "+why)
	return plan, plan.Current, false, temporal.NewNonRetryableApplicationError("the plan of "+org.Organization+" cannot go ahead: "+why, ErrPlanBlocked, nil)
}

// mutated records one mutation and the AWS requests it made.
func (t *target) mutated(ctx workflow.Context, summary string, calls []activities.Call) {
	e := RecordEntry{At: workflow.Now(ctx).UTC(), Organization: t.progress.Organization, Kind: RecordMutation, Detail: summary, Calls: calls}
	if len(calls) > 0 {
		ids := make([]string, 0, len(calls))
		for _, c := range calls {
			ids = append(ids, c.Operation+" "+c.RequestID)
		}
		e.Detail += " (AWS request " + strings.Join(ids, ", ") + ")"
	}
	t.progress.Record = append(t.progress.Record, e)
}

// calls are every AWS request the target's mutations made.
func (t *target) calls() []activities.Call {
	var out []activities.Call
	for _, e := range t.progress.Record {
		out = append(out, e.Calls...)
	}
	return out
}

// probe checks, from a member account, that the organization trails are
// visible there as organization trails: evidence that member accounts
// log, which a read in the management account cannot give.
func (t *target) probe(ctx workflow.Context, in activities.VerifyInput) error {
	if in.ProbeRoleARN == "" || len(in.TrailARNs) == 0 {
		return nil
	}
	var mp activities.MemberProbe
	if err := workflow.ExecuteActivity(t.verifyOptions(ctx), a.ProbeMemberAccount, in).Get(ctx, &mp); err != nil {
		return err
	}
	t.probed(ctx, mp)
	return nil
}

// probed records what a member account sees.
func (t *target) probed(ctx workflow.Context, mp activities.MemberProbe) {
	seen := make([]string, 0, len(mp.Trails))
	for _, tr := range mp.Trails {
		seen = append(seen, fmt.Sprintf("%s (organization trail %t, logging %t)", tr.ARN, tr.IsOrganizationTrail, tr.IsLogging))
	}
	t.record(ctx, RecordProbe, nil, fmt.Sprintf("member account %s, through %s, sees after %d read(s): %s", mp.AccountID, mp.RoleARN, mp.Checks, strings.Join(seen, ", ")))
}

// linkEvents links the target's AWS requests to CloudTrail's management
// events, where LookupEvents shows them already. It never fails the
// target: CloudTrail delivers events within about 15 minutes.
func (t *target) linkEvents(ctx workflow.Context, org activities.OrgInput) {
	calls := t.calls()
	if len(calls) == 0 {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:             "Link AWS requests to CloudTrail events",
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumAttempts: 3},
	})
	var ev activities.Events
	if err := workflow.ExecuteActivity(actx, a.FindEvents, activities.EventsInput{OrgInput: org, Calls: calls}).Get(ctx, &ev); err != nil {
		t.record(ctx, RecordEvents, nil, "CloudTrail events not linked: "+message(err))
		return
	}
	t.linked(ctx, ev, calls)
}

// linked records which of calls CloudTrail's events show.
func (t *target) linked(ctx workflow.Context, ev activities.Events, calls []activities.Call) {
	detail := fmt.Sprintf("CloudTrail shows %d of %d request(s) as management events", len(ev.Found), len(calls))
	if len(ev.Found) > 0 {
		e := ev.Found[0]
		detail += fmt.Sprintf(", by session %s", e.Username)
		if e.SourceIdentity != "" {
			detail += " with source identity " + e.SourceIdentity
		}
	}
	if len(ev.Missing) > 0 {
		detail += fmt.Sprintf("; %d not yet (CloudTrail delivers within about 15 minutes)", len(ev.Missing))
	}
	t.progress.Record = append(t.progress.Record, RecordEntry{At: workflow.Now(ctx).UTC(), Organization: t.progress.Organization, Kind: RecordEvents, Detail: detail, Events: ev.Found})
}

// loggingTrails are the ARNs of the inventory's organization trails that
// were logging.
func loggingTrails(inv Inventory) []string {
	var arns []string
	for _, t := range inv.OrganizationTrails {
		if t.IsLogging {
			arns = append(arns, t.ARN)
		}
	}
	return arns
}
