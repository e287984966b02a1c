package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// A change over the three sandbox organizations in two waves; the worker
// stops after the first wave's first approval and starts again: the change
// completes, every organization is verified, and no approval is lost.
func TestChangeSurvivesAWorkerRestartMidRollout(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	in := workflows.ChangeInput{
		ChangeID: "rollout-1", Action: workflows.ActionEnable, Organizations: []string{"acme-prod", "acme-staging", "globex"},
		Waves: []string{"1", "rest"}, Concurrency: 1, ApproveEveryWave: true, Reason: "org-wide audit logging",
	}
	run := start(t, env, env.Request(t, "dave", in))
	p := waitChange(t, env, in.ChangeID, awaitingWave(1))
	if p.Targets[0].Plan == nil || p.Targets[0].Plan.Empty() {
		t.Fatalf("approvers see no plan for wave 1: %+v", p.Targets[0])
	}
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, approval(t, env, "alice", in.ChangeID, 1))
	env.StopWorker()
	mustUpdateEventually(t, env, in.ChangeID, workflows.UpdateApprove, approval(t, env, "bob", in.ChangeID, 1))
	env.StartWorker(activities.Polling{})

	p = waitChange(t, env, in.ChangeID, awaitingWave(2))
	if len(p.Waves[0].Approvals) != 2 || p.Targets[0].Phase != workflows.PhaseSucceeded {
		t.Fatalf("after the restart: wave 1 approvals %+v, %s %s", p.Waves[0].Approvals, p.Targets[0].Organization, p.Targets[0].Phase)
	}
	approveWave(t, env, in.ChangeID, 2)
	if p = result(t, run); p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("change ended %s", p.Phase)
	}
	for _, tg := range p.Targets {
		v := view(t, env, tg.Organization)
		if tg.Phase != workflows.PhaseSucceeded || tg.Evidence == nil || !v.trustedAccess() || !v.logging(v.org.MemberAccountIDs[0]) {
			t.Errorf("%s: %s, evidence %v, trusted access %t", tg.Organization, tg.Phase, tg.Evidence != nil, v.trustedAccess())
		}
	}
	recordHistory(t, env, in.ChangeID, "change-enable-waves")
}

// A change whose organization denies trailgate halts at the failure budget
// and leaves the organizations after it untouched.
func TestFailureBudgetHaltsARolloutThatAWSDenies(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Sandbox: awssandbox.Options{Seed: 3}})
	denied := env.Org("acme-staging").ManagementAccountID
	env.AWS.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "EnableAWSServiceAccess", AccountID: denied, Error: "AccessDeniedException"}})
	in := workflows.ChangeInput{
		ChangeID: "rollout-denied", Action: workflows.ActionEnable, Organizations: []string{"acme-prod", "acme-staging", "globex"}, Concurrency: 1,
	}
	run := start(t, env, env.Request(t, "dave", in))
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	approveWave(t, env, in.ChangeID, 1)
	if err := endedWithin(run, 3*time.Minute); err == nil {
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
	go func() { done <- update(env, id, name, arg) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("%s %s: %v", name, id, err)
		}
	})
	time.Sleep(500 * time.Millisecond)
}

// A change continues as new between waves (as one over thousands of
// organizations must, to stay within Temporal's history limits) and still
// completes with every organization verified, its record whole, and its
// proofs still spent.
func TestChangeContinuesAsNewBetweenWaves(t *testing.T) {
	defer workflows.SetHistoryBudget(1)()
	env := testenv.Start(t, testenv.Options{})
	in := workflows.ChangeInput{
		ChangeID: "rollout-long", Action: workflows.ActionEnable, Organizations: []string{"acme-prod", "acme-staging", "globex"},
		Waves: []string{"1", "1", "1"}, ApproveEveryWave: true,
	}
	run := start(t, env, env.Request(t, "dave", in))
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	alice := approval(t, env, "alice", in.ChangeID, 1)
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, alice)
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, approval(t, env, "bob", in.ChangeID, 1))
	waitChange(t, env, in.ChangeID, awaitingWave(2))
	last, err := env.Client.DescribeWorkflowExecution(context.Background(), in.ChangeID, "")
	if err != nil {
		t.Fatal(err)
	}
	if last.WorkflowExecutionInfo.Execution.RunId == run.GetRunID() {
		t.Fatal("the change never continued as new")
	}
	alice.Wave = 2
	wantIn(t, update(env, in.ChangeID, workflows.UpdateApprove, alice), "already used")
	for w := 2; w <= 3; w++ {
		waitChange(t, env, in.ChangeID, awaitingWave(w))
		approveWave(t, env, in.ChangeID, w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var p workflows.ChangeProgress
	if err := env.Client.GetWorkflow(ctx, in.ChangeID, "").Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded || p.Done() != 3 || len(p.Waves[0].Approvals) != 2 || p.Policy == nil {
		t.Fatalf("change ended %s with %d done, wave 1 approvals %+v, policy %v", p.Phase, p.Done(), p.Waves[0].Approvals, p.Policy)
	}
	if kinds := recordKinds(p.Record); !containsAll(kinds, "requested", "policy", "approved approved", "outcome") {
		t.Errorf("the record lost entries across runs: %s", kinds)
	}
}

// An AWS call retried until its budget runs out ends the organization with
// an error that says what was tried, for how long, and the last error.
func TestARetryBudgetEndsInAFailureThatSaysWhatWasTried(t *testing.T) {
	defer workflows.SetRetryBudget(4 * time.Second)()
	env := testenv.Start(t, testenv.Options{})
	globex := env.Org("globex").ManagementAccountID
	env.AWS.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "EnableAWSServiceAccess", AccountID: globex, Error: "ServiceException"}})
	in := request(t, env, "enable-budget", workflows.ActionEnable, "globex")
	run := start(t, env, in)
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	approveWave(t, env, in.ChangeID, 1)
	if err := endedWithin(run, 2*time.Minute); err == nil {
		t.Fatal("a change whose AWS call never succeeded succeeded")
	}
	p := waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool { return p.Phase.Final() })
	want := []string{`gave up on "Enable trusted access for cloudtrail.amazonaws.com" after retrying it for 4s`, "organizations:EnableAWSServiceAccess", "ServiceException"}
	if !containsAll(p.Targets[0].Error, want...) {
		t.Errorf("the organization's error does not say all of %q: %s", want, p.Targets[0].Error)
	}
}
