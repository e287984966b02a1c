// Package census counts the organizations that stand in each phase of a
// change right now, from Temporal's visibility, for the worker's
// trailgate_organizations gauge. Counters say what happened; the census
// says where things stand, however many workers ran them and whenever
// they restarted.
package census

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/internal/metrics"
	"github.com/trailgate/trailgate/workflows"
)

// Every is how often the worker takes the census.
const Every = 30 * time.Second

// Phases are the phases an organization's workflow stands in while it
// runs: the census counts each.
var Phases = []workflows.Phase{
	workflows.PhasePending,
	workflows.PhasePreflight,
	workflows.PhasePlanning,
	workflows.PhaseAwaitingCleanup,
	workflows.PhaseAwaitingApproval,
	workflows.PhaseAwaitingWindow,
	workflows.PhasePaused,
	workflows.PhaseApplying,
	workflows.PhaseVerifying,
}

// Count counts the running organization workflows in each of Phases.
func Count(ctx context.Context, c client.Client) (map[workflows.Phase]int64, error) {
	out := make(map[workflows.Phase]int64, len(Phases))
	for _, p := range Phases {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = %q AND ExecutionStatus = \"Running\" AND %s = %q",
				workflows.TargetWorkflowName, workflows.PhaseKey.GetName(), p),
		})
		if err != nil {
			return nil, fmt.Errorf("count the organizations in phase %s: %w", p, err)
		}
		out[p] = resp.GetCount()
	}
	return out, nil
}

// Run takes the census every interval and sets the gauge, until ctx ends.
// A census that fails is logged and leaves the gauge as it was.
func Run(ctx context.Context, c client.Client, h client.MetricsHandler, every time.Duration, logger *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		counts, err := Count(ctx, c)
		if err == nil {
			for p, n := range counts {
				metrics.OrganizationsCounted(h, string(p), n)
			}
		} else if ctx.Err() == nil {
			logger.Warn("census of organizations by phase failed; trailgate_organizations keeps its last values", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
