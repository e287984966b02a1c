package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// Signals between a change and its organizations' workflows carry no proof
// of their sender, and anyone who reaches Temporal can send one to a
// workflow ID as predictable as <change-id>/<organization>. So a signal is
// only a nudge: the receiver reads what the sender says through the
// sender's own query, answered by the sender's code (versionVerifiedSignals).

// ask reads another workflow's answer to a query into out. Since
// versionAskByActivity it asks through an activity: a local activity holds
// the asker's workflow task open, and Temporal holds queries to a workflow
// until its task completes, so a change and a target asking each other at
// once each waited for the other's query to time out.
func ask(ctx workflow.Context, workflowID, query, arg string, out any) error {
	in := activities.QueryInput{WorkflowID: workflowID, Query: query, Arg: arg}
	retry := &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second}
	if workflow.GetVersion(ctx, versionAskByActivity, workflow.DefaultVersion, 1) == 1 {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			Summary:                "Ask " + workflowID + " (" + query + ")",
			StartToCloseTimeout:    30 * time.Second,
			ScheduleToCloseTimeout: 5 * time.Minute,
			RetryPolicy:            retry,
		})
		return workflow.ExecuteActivity(actx, a.AskWorkflow, in).Get(ctx, out)
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{ScheduleToCloseTimeout: 5 * time.Minute, RetryPolicy: retry})
	return workflow.ExecuteLocalActivity(lctx, a.AskWorkflow, in).Get(ctx, out)
}

// fromChange reports whether the change this target belongs to told it d:
// its told query lists a decision of the same kind, at the same time.
func (t *target) fromChange(ctx workflow.Context, d ParentDecision) (bool, error) {
	var told []ParentDecision
	if err := ask(ctx, t.in.ParentWorkflowID, QueryTold, t.progress.Organization, &told); err != nil {
		return false, err
	}
	for _, x := range told {
		if x.Kind == d.Kind && x.At.Equal(d.At) && x.Acknowledge == d.Acknowledge && slices.Equal(x.Acknowledged, d.Acknowledged) {
			return true, nil
		}
	}
	return false, nil
}

// takeDecisions receives the change's decisions; with verified, it acts
// only on those the change confirms it sent, and records the others.
func (t *target) takeDecisions(ctx workflow.Context, verified bool) {
	decisions := workflow.GetSignalChannel(ctx, SignalParentDecision)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d ParentDecision
			decisions.Receive(ctx, &d)
			if verified {
				ok, err := t.fromChange(ctx, d)
				if err != nil || !ok {
					why := fmt.Sprintf("change %s did not send it", t.in.ParentWorkflowID)
					if err != nil {
						why = "change " + t.in.ParentWorkflowID + " could not be asked: " + err.Error()
					}
					t.record(ctx, RecordRefused, nil, fmt.Sprintf("a %s decision signalled to this organization was ignored: %s", d.Kind, why))
					continue
				}
			}
			t.fromParent(ctx, d)
		}
	})
}

// readReport takes where a target stands from the target itself: its
// progress query, answered by its own code, rather than the report
// signalled, which anyone could have sent.
func (c *change) readReport(ctx workflow.Context, r TargetReport) (TargetReport, bool) {
	i, ok := c.index[r.Organization]
	if !ok {
		return r, false
	}
	var tp TargetProgress
	if err := ask(ctx, c.p.Targets[i].WorkflowID, QueryProgress, "", &tp); err != nil {
		return r, false
	}
	if tp.ChangeID != c.in.ChangeID || tp.Organization != r.Organization {
		return r, false
	}
	read := TargetReport{Organization: tp.Organization, Phase: tp.Phase, Plan: tp.Plan, Inventory: tp.Inventory}
	if tp.Awaiting != nil {
		read.Message = tp.Awaiting.What
	}
	return read, true
}
