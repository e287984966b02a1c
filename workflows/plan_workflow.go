package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// PlanWorkflow reads each organization and says what a change would do to
// it. The worker resolves the organizations against its own configuration.
// It only reads: it never mutates AWS.
func PlanWorkflow(ctx workflow.Context, in PlanInput) (PlanResult, error) {
	if _, err := ParseAction(string(in.Action)); err != nil {
		return PlanResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 4},
	})
	var res activities.Resolution
	if err := workflow.ExecuteActivity(ctx, a.ResolveChange, activities.ResolveInput{
		Organizations: in.Organizations, ManageTrail: in.Action == ActionEnable,
	}).Get(ctx, &res); err != nil {
		return PlanResult{}, err
	}
	out := PlanResult{Action: in.Action, Targets: make([]TargetPlan, len(res.Organizations))}
	wg := workflow.NewWaitGroup(ctx)
	for i, org := range res.Organizations {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			out.Targets[i] = planOne(ctx, in.Action, org)
		})
	}
	wg.Wait(ctx)
	return out, nil
}

func planOne(ctx workflow.Context, action Action, org activities.OrgInput) TargetPlan {
	tp := TargetPlan{Organization: org.Organization}
	fail := func(err error) TargetPlan {
		tp.Error = err.Error()
		return tp
	}
	if err := workflow.ExecuteActivity(ctx, a.Preflight, org).Get(ctx, nil); err != nil {
		return fail(err)
	}
	var cur State
	if err := workflow.ExecuteActivity(ctx, a.ReadState, org).Get(ctx, &cur); err != nil {
		return fail(err)
	}
	var plan Plan
	switch action {
	case ActionEnable:
		plan = PlanEnable(cur, org.Trail.Name, org.Trail.Bucket)
	case ActionDisable, ActionRollback:
		var inv Inventory
		if err := workflow.ExecuteActivity(ctx, a.TakeInventory, org).Get(ctx, &inv); err != nil {
			return fail(err)
		}
		tp.Inventory = &inv
		if action == ActionDisable {
			plan = PlanDisable(cur)
		} else {
			plan = PlanRollback(cur, inv)
		}
	}
	tp.Plan = &plan
	return tp
}
