// Package schedule keeps the Temporal Schedule that runs trailgate's drift
// audit as the worker's configuration says.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/workflows"
)

// AuditSummary is the summary of every audit the schedule starts, in the
// Temporal UI.
const AuditSummary = "Drift audit of every organization (scheduled)"

// EnsureAudit creates the audit's schedule, or updates its interval and
// action to the configuration's. A pause, with its reason, outlives a
// restart of the worker: people paused it, not the configuration.
func EnsureAudit(ctx context.Context, c client.Client, taskQueue string, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("schedule the drift audit: audit.every is %s; set how often to audit, such as 6h", every)
	}
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	action := &client.ScheduleWorkflowAction{
		ID:            workflows.AuditScheduleID,
		Workflow:      workflows.AuditWorkflowName,
		Args:          []any{workflows.AuditInput{Trigger: workflows.AuditBySchedule}},
		TaskQueue:     taskQueue,
		StaticSummary: AuditSummary,
	}
	// An audit missed while the server was down is still worth running,
	// once, within one interval: more would only repeat it.
	catchup := every
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            workflows.AuditScheduleID,
		Spec:          spec,
		Action:        action,
		Overlap:       enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: catchup,
		Note:          "created by trailgate-worker",
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", workflows.AuditScheduleID, err)
	}
	h := c.ScheduleClient().GetHandle(ctx, workflows.AuditScheduleID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec = &spec
			s.Action = action
			if s.Policy == nil {
				s.Policy = &client.SchedulePolicies{}
			}
			s.Policy.Overlap = enums.SCHEDULE_OVERLAP_POLICY_SKIP
			s.Policy.CatchupWindow = catchup
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", workflows.AuditScheduleID, err)
	}
	return nil
}
