package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// A change cancelled through Temporal (its CLI, UI or SDK) while it waits
// for people ends as cancelled: Temporal shows it canceled, its
// organizations end with nothing changed, the record says so, and no
// workflow task failed on the way.
func TestCancelThroughTemporalEndsTheChangeAtAnyGate(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	for _, tc := range []struct {
		action workflows.Action
		org    string
		at     workflows.Phase
		before func(id string)
	}{
		{workflows.ActionEnable, "acme-prod", workflows.PhaseAwaitingApproval, nil},
		{workflows.ActionEnable, "acme-staging", workflows.PhasePaused, func(id string) {
			mustUpdate(t, env, id, workflows.UpdatePause, control(t, env, "dave", id, workflows.DecisionPause, "hold on"))
		}},
	} {
		t.Run(string(tc.at), func(t *testing.T) {
			in := request(t, env, "cancel-"+string(tc.at), tc.action, tc.org)
			run := start(t, env, in)
			waitChange(t, env, in.ChangeID, awaitingWave(1))
			if tc.before != nil {
				tc.before(in.ChangeID)
			}
			cancelThroughTemporal(t, env, run)
			assertEndedCancelled(t, env, in.ChangeID, tc.org)
			if v := view(t, env, tc.org); v.trustedAccess() {
				t.Error("a cancelled change enabled trusted access")
			}
		})
	}
}

func TestCancelThroughTemporalAtTheCleanupGate(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	id := "enable-first"
	in := request(t, env, id, workflows.ActionEnable, "globex")
	run := start(t, env, in)
	waitChange(t, env, id, awaitingWave(1))
	approveWave(t, env, id, 1)
	result(t, run)

	in = request(t, env, "disable-cancelled", workflows.ActionDisable, "globex")
	run = start(t, env, in)
	waitChange(t, env, in.ChangeID, phaseIs(workflows.PhaseAwaitingCleanup))
	cancelThroughTemporal(t, env, run)
	assertEndedCancelled(t, env, in.ChangeID, "globex")
	if v := view(t, env, "globex"); !v.trustedAccess() {
		t.Error("a cancelled disable disabled trusted access")
	}
}

// cancelThroughTemporal cancels a change as Temporal's CLI, UI or SDK
// would, and waits for it to end cancelled.
func cancelThroughTemporal(t *testing.T, env *testenv.Env, run client.WorkflowRun) {
	t.Helper()
	if err := env.Client.CancelWorkflow(context.Background(), run.GetID(), ""); err != nil {
		t.Fatal(err)
	}
	if err := endedWithin(run, time.Minute); !temporal.IsCanceledError(err) {
		t.Fatalf("the change ended with %v, want cancelled", err)
	}
}

// assertEndedCancelled checks a change and its organization's workflow
// after a cancellation through Temporal.
func assertEndedCancelled(t *testing.T, env *testenv.Env, id, org string) {
	t.Helper()
	ctx := context.Background()
	d, err := env.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := d.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED {
		t.Errorf("Temporal shows the change %s, want canceled", s)
	}
	var p workflows.ChangeProgress
	if v, err := env.Client.QueryWorkflow(ctx, id, "", workflows.QueryProgress); err != nil || v.Get(&p) != nil {
		t.Fatalf("query the cancelled change: %v", err)
	}
	if p.Phase != workflows.PhaseCancelled || p.Targets[0].Phase != workflows.PhaseCancelled {
		t.Errorf("change %s, organization %s; want both cancelled", p.Phase, p.Targets[0].Phase)
	}
	if !strings.Contains(recordKinds(p.Record), "cancelled") {
		t.Errorf("the record does not say the change was cancelled: %s", recordKinds(p.Record))
	}
	for _, wid := range []string{id, workflows.TargetWorkflowID(id, org)} {
		if h := string(history(t, env, wid, "")); strings.Contains(h, "WORKFLOW_TASK_FAILED") || strings.Contains(h, "WorkflowTaskFailed") {
			i := strings.Index(h, "orkflowTaskFailed")
			if i < 0 {
				i = strings.Index(h, "WORKFLOW_TASK_FAILED")
			}
			t.Errorf("a workflow task of %s failed: %s", wid, h[i:min(len(h), i+1500)])
		}
	}
	td, err := env.Client.DescribeWorkflowExecution(ctx, workflows.TargetWorkflowID(id, org), "")
	if err != nil {
		t.Fatal(err)
	}
	if td.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("the organization's workflow still runs")
	}
}

// Cancelled through Temporal while organizations read AWS, while one
// mutates, and while an approved wave waits for its window: nothing starts
// after the cancel, a mutation under way finishes and is verified, and the
// change ends cancelled without a failed workflow task.
func TestCancelThroughTemporalWhileWorking(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	t.Run("planning", func(t *testing.T) {
		env.AWS.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "DescribeOrganization", Latency: 2 * time.Second}})
		defer env.AWS.Sandbox.SetFaults(nil)
		in := request(t, env, "cancel-planning", workflows.ActionEnable, "acme-prod")
		run := start(t, env, in)
		waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool {
			return p.Phase == workflows.PhasePreflight || p.Phase == workflows.PhasePlanning
		})
		cancelThroughTemporal(t, env, run)
		assertEndedCancelled(t, env, in.ChangeID, "acme-prod")
	})

	t.Run("awaiting-window", func(t *testing.T) {
		in := workflows.ChangeInput{ChangeID: "cancel-window", Action: workflows.ActionEnable, Organizations: []string{"acme-prod"},
			Windows: []workflows.MaintenanceWindow{{Start: time.Now().UTC().Add(12 * time.Hour).Format("15:04"), Duration: time.Hour}}}
		in = env.Request(t, "dave", in)
		run := start(t, env, in)
		waitChange(t, env, in.ChangeID, awaitingWave(1))
		approveWave(t, env, in.ChangeID, 1)
		waitChange(t, env, in.ChangeID, phaseIs(workflows.PhaseAwaitingWindow))
		cancelThroughTemporal(t, env, run)
		assertEndedCancelled(t, env, in.ChangeID, "acme-prod")
	})

	t.Run("applying", func(t *testing.T) {
		staging := env.Org("acme-staging").ManagementAccountID
		env.AWS.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "EnableAWSServiceAccess", AccountID: staging, Latency: 3 * time.Second}})
		defer env.AWS.Sandbox.SetFaults(nil)
		in := workflows.ChangeInput{ChangeID: "cancel-applying", Action: workflows.ActionEnable, Organizations: []string{"acme-staging", "globex"}, Concurrency: 1}
		in = env.Request(t, "dave", in)
		run := start(t, env, in)
		waitChange(t, env, in.ChangeID, awaitingWave(1))
		approveWave(t, env, in.ChangeID, 1)
		waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool { return p.Targets[0].Phase == workflows.PhaseApplying })
		cancelThroughTemporal(t, env, run)
		var p workflows.ChangeProgress
		if v, err := env.Client.QueryWorkflow(context.Background(), in.ChangeID, "", workflows.QueryProgress); err != nil || v.Get(&p) != nil {
			t.Fatalf("query: %v", err)
		}
		if p.Phase != workflows.PhaseCancelled || p.Targets[0].Phase != workflows.PhaseSucceeded || p.Targets[0].Evidence == nil || p.Targets[1].Phase != workflows.PhaseCancelled {
			t.Fatalf("change %s; acme-staging %s (evidence %v); globex %s: want the mutation under way finished and verified, the next organization cancelled",
				p.Phase, p.Targets[0].Phase, p.Targets[0].Evidence != nil, p.Targets[1].Phase)
		}
		if !view(t, env, "acme-staging").trustedAccess() || view(t, env, "globex").trustedAccess() {
			t.Error("AWS does not show acme-staging enabled and globex untouched")
		}
		for _, org := range []string{"acme-staging", "globex"} {
			if h := string(history(t, env, workflows.TargetWorkflowID(in.ChangeID, org), "")); strings.Contains(h, "WORKFLOW_TASK_FAILED") {
				t.Errorf("a workflow task of %s failed", org)
			}
		}
	})
}
