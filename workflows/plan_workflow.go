package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
)

// PlanWorkflow reads each organization and says what a change would do to
// it. It only reads: it never mutates AWS.
func PlanWorkflow(ctx workflow.Context, in PlanInput) (PlanResult, error) {
	if _, err := ParseAction(string(in.Action)); err != nil {
		return PlanResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 4},
	})
	res := PlanResult{Action: in.Action, Targets: make([]TargetPlan, len(in.Organizations))}
	wg := workflow.NewWaitGroup(ctx)
	for i, org := range in.Organizations {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			res.Targets[i] = planOne(ctx, in, org.Name, activities.OrgInput{Organization: org, Trail: in.Trail.For(org)})
		})
	}
	wg.Wait(ctx)
	return res, nil
}

func planOne(ctx workflow.Context, in PlanInput, name string, org activities.OrgInput) TargetPlan {
	tp := TargetPlan{Organization: name}
	fail := func(err error) TargetPlan {
		tp.Error = err.Error()
		return tp
	}
	if err := workflow.ExecuteActivity(ctx, a.Preflight, org).Get(ctx, nil); err != nil {
		return fail(err)
	}
	if in.Action != ActionEnable {
		org.Trail = config.Trail{}
	}
	var cur State
	if err := workflow.ExecuteActivity(ctx, a.ReadState, org).Get(ctx, &cur); err != nil {
		return fail(err)
	}
	var plan Plan
	switch in.Action {
	case ActionEnable:
		plan = PlanEnable(cur, org.Trail.Name, org.Trail.Bucket)
	case ActionDisable, ActionRollback:
		var inv Inventory
		if err := workflow.ExecuteActivity(ctx, a.TakeInventory, org).Get(ctx, &inv); err != nil {
			return fail(err)
		}
		tp.Inventory = &inv
		if in.Action == ActionDisable {
			plan = PlanDisable(cur)
		} else {
			plan = PlanRollback(cur, inv)
		}
	}
	tp.Plan = &plan
	return tp
}
