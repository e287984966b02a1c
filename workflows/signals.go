package workflows

import (
	"encoding/json"
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
	if d.Word != "" && (t.fewer || workflow.GetVersion(ctx, versionVouched, workflow.DefaultVersion, 1) == 1) {
		// The worker's word for the decision: checked here, with no
		// question to the change, which a thousand organizations would
		// ask at once.
		var ok bool
		check := activities.VouchCheck{Vouching: d.vouching(t.in.ParentWorkflowID, workflow.GetInfo(ctx).WorkflowExecution.ID), Word: d.Word}
		err := workflow.ExecuteLocalActivity(vouchOptions(ctx), a.Vouched, check).Get(ctx, &ok)
		return ok, err
	}
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

// readReports takes where targets stand from the targets themselves: their
// progress queries, answered by their own code, rather than the reports
// signalled, which anyone could have sent. A report whose target does not
// confirm it is dropped; one whose target could not be asked (a query
// Temporal timed out, an activity that failed) comes back in unanswered.
// Since versionBatched the targets are asked together, askBatch at a time
// by each activity.
func (c *change) readReports(ctx workflow.Context, batch []TargetReport) (read, unanswered []TargetReport) {
	var asks []activities.QueryInput
	var known []TargetReport
	for _, r := range batch {
		if i, ok := c.index[r.Organization]; ok {
			asks = append(asks, activities.QueryInput{WorkflowID: c.p.Targets[i].WorkflowID, Query: QueryProgress})
			known = append(known, r)
		}
	}
	if !c.batched {
		for i, r := range known {
			var tp TargetProgress
			if err := ask(ctx, asks[i].WorkflowID, QueryProgress, "", &tp); err == nil {
				read = c.confirmed(read, r, tp)
			} else {
				unanswered = append(unanswered, r)
			}
		}
		return read, unanswered
	}
	var futures []workflow.Future
	for from := 0; from < len(asks); from += askBatch {
		chunk := asks[from:min(from+askBatch, len(asks))]
		futures = append(futures, askMany(ctx, chunk, fmt.Sprintf("Ask %d organizations' workflows where they stand", len(chunk))))
	}
	for n, f := range futures {
		var answers []activities.Answer
		if err := f.Get(ctx, &answers); err != nil {
			unanswered = append(unanswered, known[n*askBatch:min((n+1)*askBatch, len(known))]...)
			continue
		}
		for k, ans := range answers {
			if ans.Error != "" {
				unanswered = append(unanswered, known[n*askBatch+k])
				continue
			}
			var tp TargetProgress
			// Decoding JSON into a struct gives the same value every time;
			// workflowcheck cannot tell, for encoding/json caches its types.
			//workflowcheck:ignore
			err := json.Unmarshal(ans.Said, &tp)
			if err != nil {
				continue
			}
			read = c.confirmed(read, known[n*askBatch+k], tp)
		}
	}
	return read, unanswered
}

// reaskAfter is how long a change waits before it asks again a target that
// could not be asked where it stands.
const reaskAfter = 5 * time.Second

// askAgain asks the targets that could not be asked where they stand
// again, after a pause, until each has answered or ended. Before
// versionReask their reports were dropped: at 2,000 organizations a busy
// Temporal timed some queries out, and those organizations waited at
// their gate while the change never saw them arrive.
func (c *change) askAgain(ctx workflow.Context, unanswered []TargetReport) {
	c.reading++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { c.reading-- }()
		for len(unanswered) > 0 {
			_ = workflow.Sleep(ctx, reaskAfter)
			unanswered = slices.DeleteFunc(unanswered, func(r TargetReport) bool {
				return c.p.Targets[c.index[r.Organization]].Phase.Final()
			})
			var read []TargetReport
			read, unanswered = c.readReports(ctx, unanswered)
			for _, r := range read {
				c.onReport(r)
			}
		}
	})
}

// askBatch is how many targets one activity asks where they stand: their
// answers stay well within Temporal's payload limit.
const askBatch = 50

// askMany asks many workflows their queries through one activity.
func askMany(ctx workflow.Context, asks []activities.QueryInput, summary string) workflow.Future {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:                summary,
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 5 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	return workflow.ExecuteActivity(actx, a.AskWorkflows, asks)
}

// confirmed adds to read what target tp says of itself, when it is the
// organization of report r in this change.
func (c *change) confirmed(read []TargetReport, r TargetReport, tp TargetProgress) []TargetReport {
	if tp.ChangeID != c.in.ChangeID || tp.Organization != r.Organization {
		return read
	}
	got := TargetReport{Organization: tp.Organization, Phase: tp.Phase, Plan: tp.Plan, Inventory: tp.Inventory}
	if tp.Awaiting != nil {
		got.Message = tp.Awaiting.What
	}
	return append(read, got)
}

// vouchOptions runs the worker's vouching, which reads only its key.
func vouchOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
}
