package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

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
			if err := env.Client.CancelWorkflow(context.Background(), in.ChangeID, ""); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := run.Get(ctx, nil)
			if !temporal.IsCanceledError(err) {
				t.Fatalf("the change ended with %v, want cancelled", err)
			}
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
	mustUpdate(t, env, id, workflows.UpdateApprove, approval(t, env, "alice", id, 1))
	mustUpdate(t, env, id, workflows.UpdateApprove, approval(t, env, "bob", id, 1))
	result(t, run)

	in = request(t, env, "disable-cancelled", workflows.ActionDisable, "globex")
	run = start(t, env, in)
	waitChange(t, env, in.ChangeID, phaseIs(workflows.PhaseAwaitingCleanup))
	if err := env.Client.CancelWorkflow(context.Background(), in.ChangeID, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run.Get(ctx, nil); !temporal.IsCanceledError(err) {
		t.Fatalf("the change ended with %v, want cancelled", err)
	}
	assertEndedCancelled(t, env, in.ChangeID, "globex")
	if v := view(t, env, "globex"); !v.trustedAccess() {
		t.Error("a cancelled disable disabled trusted access")
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
			t.Errorf("a workflow task of %s failed", wid)
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
