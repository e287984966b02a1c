package workflows_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

func waitChange(t *testing.T, env *testenv.Env, id string, ok func(workflows.ChangeProgress) bool) workflows.ChangeProgress {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var p workflows.ChangeProgress
	for time.Now().Before(deadline) {
		v, err := env.Client.QueryWorkflow(context.Background(), id, "", workflows.QueryProgress)
		if err == nil && v.Get(&p) == nil && ok(p) {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("change %s did not get there; it is %s, wave %d, awaiting %+v", id, p.Phase, p.CurrentWave, p.Awaiting)
	return p
}

func awaitingWave(n int) func(workflows.ChangeProgress) bool {
	return func(p workflows.ChangeProgress) bool {
		return p.Phase == workflows.PhaseAwaitingApproval && p.CurrentWave == n
	}
}

// A change over the three sandbox organizations in two waves; the worker
// stops after the first wave's approvals and starts again: the change
// completes, every organization is verified, and no approval is lost.
func TestChangeSurvivesAWorkerRestartMidRollout(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	in := workflows.ChangeInput{
		ChangeID: "rollout-1", Action: workflows.ActionEnable, Organizations: env.Config.Organizations, Trail: env.Config.Trail,
		Waves: []string{"1", "rest"}, Concurrency: 1, ApproveEveryWave: true,
		Policy: workflows.PolicyFromConfig(env.Config.Approvals), Requester: "dave", Reason: "org-wide audit logging",
	}
	run, err := env.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: in.ChangeID, TaskQueue: env.Config.Temporal.TaskQueue}, workflows.ChangeWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	p := waitChange(t, env, in.ChangeID, awaitingWave(1))
	if p.Targets[0].Plan == nil || p.Targets[0].Plan.Empty() {
		t.Fatalf("approvers see no plan for wave 1: %+v", p.Targets[0])
	}
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, workflows.Decision{By: "alice"})
	env.StopWorker()
	mustUpdateEventually(t, env, in.ChangeID, workflows.UpdateApprove, workflows.Decision{By: "bob"})
	env.StartWorker(activities.Polling{})

	p = waitChange(t, env, in.ChangeID, awaitingWave(2))
	if len(p.Waves[0].Approvals) != 2 || p.Targets[0].Phase != workflows.PhaseSucceeded {
		t.Fatalf("after the restart: wave 1 approvals %+v, %s %s", p.Waves[0].Approvals, p.Targets[0].Organization, p.Targets[0].Phase)
	}
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, workflows.Decision{By: "alice"})
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, workflows.Decision{By: "bob"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run.Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("change ended %s", p.Phase)
	}
	for _, tg := range p.Targets {
		v := view(t, env, tg.Organization)
		if tg.Phase != workflows.PhaseSucceeded || tg.Evidence == nil || !v.trustedAccess() || !v.logging(v.org.MemberAccountIDs[0]) {
			t.Errorf("%s: %s, evidence %v, trusted access %t", tg.Organization, tg.Phase, tg.Evidence != nil, v.trustedAccess())
		}
	}
	recordHistory(t, env, in.ChangeID, "change-enable")
	recordHistory(t, env, workflows.TargetWorkflowID(in.ChangeID, "acme-staging"), "change-enable-child")
}

// A change whose organization denies trailgate halts at the failure budget
// and leaves the organizations after it untouched.
func TestFailureBudgetHaltsARolloutThatAWSDenies(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Sandbox: awssandbox.Options{Seed: 3}})
	denied := env.Org("acme-staging").ManagementAccountID
	env.AWS.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "EnableAWSServiceAccess", AccountID: denied, Error: "AccessDeniedException"}})
	in := workflows.ChangeInput{
		ChangeID: "rollout-denied", Action: workflows.ActionEnable, Organizations: env.Config.Organizations,
		Concurrency: 1, Policy: workflows.PolicyFromConfig(env.Config.Approvals), Requester: "dave",
	}
	run, err := env.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: in.ChangeID, TaskQueue: env.Config.Temporal.TaskQueue}, workflows.ChangeWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, workflows.Decision{By: "alice"})
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, workflows.Decision{By: "bob"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run.Get(ctx, nil); err == nil {
		t.Fatal("a change with a denied organization succeeded")
	}
	p := waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool { return p.Phase.Final() })
	if p.Phase != workflows.PhaseHalted {
		t.Fatalf("change ended %s", p.Phase)
	}
	if v := view(t, env, "globex"); v.trustedAccess() {
		t.Error("the organization after the failure was changed")
	}
	if v := view(t, env, "acme-prod"); !v.trustedAccess() {
		t.Error("the organization before the failure was not changed")
	}
}

// mustUpdateEventually sends an update while no worker runs: it is taken
// when a worker next runs the workflow.
func mustUpdateEventually(t *testing.T, env *testenv.Env, id, name string, arg any) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- update(t, env, id, name, arg) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("%s %s: %v", name, id, err)
		}
	})
	time.Sleep(500 * time.Millisecond)
}

// A change continues as new between waves (as one over thousands of
// organizations must, to stay within Temporal's history limits) and still
// completes with every organization verified and its record whole.
func TestChangeContinuesAsNewBetweenWaves(t *testing.T) {
	defer workflows.SetHistoryBudget(1)()
	env := testenv.Start(t, testenv.Options{})
	in := workflows.ChangeInput{
		ChangeID: "rollout-long", Action: workflows.ActionEnable, Organizations: env.Config.Organizations,
		Waves: []string{"1", "1", "1"}, Policy: workflows.PolicyFromConfig(env.Config.Approvals), Requester: "dave",
	}
	run, err := env.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: in.ChangeID, TaskQueue: env.Config.Temporal.TaskQueue}, workflows.ChangeWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, workflows.Decision{By: "alice"})
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, workflows.Decision{By: "bob"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The first run ends by continuing as new; follow the chain to the last.
	var p workflows.ChangeProgress
	if err := env.Client.GetWorkflow(ctx, in.ChangeID, "").Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded || p.Done() != 3 || len(p.Waves[0].Approvals) != 2 {
		t.Fatalf("change ended %s with %d done and wave 1 approvals %+v", p.Phase, p.Done(), p.Waves[0].Approvals)
	}
	last, err := env.Client.DescribeWorkflowExecution(ctx, in.ChangeID, "")
	if err != nil {
		t.Fatal(err)
	}
	if last.WorkflowExecutionInfo.Execution.RunId == run.GetRunID() {
		t.Fatal("the change never continued as new")
	}
	if kinds := recordKinds(workflows.TargetProgress{Record: p.Record}); !containsAll(kinds, "requested", "approved approved", "outcome") {
		t.Errorf("the record lost entries across runs: %s", kinds)
	}
}
