package workflows_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// request is a change dave requests over the organizations, proven with
// his AWS credentials.
func request(t *testing.T, env *testenv.Env, id string, action workflows.Action, orgs ...string) workflows.ChangeInput {
	in := workflows.ChangeInput{ChangeID: id, Action: action, Organizations: orgs, Reason: "CHG-" + id}
	return env.Request(t, "dave", in)
}

func start(t *testing.T, env *testenv.Env, in workflows.ChangeInput) client.WorkflowRun {
	t.Helper()
	run, err := env.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: in.ChangeID, TaskQueue: env.Config.Temporal.TaskQueue}, workflows.ChangeWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func waitChange(t *testing.T, env *testenv.Env, id string, ok func(workflows.ChangeProgress) bool) workflows.ChangeProgress {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var p workflows.ChangeProgress
	var last error
	for time.Now().Before(deadline) {
		v, err := env.Client.QueryWorkflow(context.Background(), id, "", workflows.QueryProgress)
		if last = err; err == nil && v.Get(&p) == nil && ok(p) {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		// A change that ended before it registered its query says why.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		t.Fatalf("change %s did not get there; the last query failed: %v; the workflow: %v", id, last, env.Client.GetWorkflow(ctx, id, "").Get(ctx, nil))
	}
	t.Fatalf("change %s did not get there; it is %s, wave %d, awaiting %+v", id, p.Phase, p.CurrentWave, p.Awaiting)
	return p
}

func awaitingWave(n int) func(workflows.ChangeProgress) bool {
	return func(p workflows.ChangeProgress) bool {
		return p.Phase == workflows.PhaseAwaitingApproval && p.CurrentWave == n
	}
}

func phaseIs(phase workflows.Phase) func(workflows.ChangeProgress) bool {
	return func(p workflows.ChangeProgress) bool { return p.Phase == phase }
}

// approval is a person's proven approval of a wave of a change.
func approval(t *testing.T, env *testenv.Env, person, changeID string, wave int) workflows.Decision {
	d := workflows.Decision{Wave: wave, Who: workflows.Who{Nonce: testenv.Nonce()}}
	d.Who = env.Prove(t, person, d.Binding(changeID, workflows.DecisionApprove))
	return d
}

// approveWave has alice and bob approve a wave of a change, each with
// their proof.
func approveWave(t *testing.T, env *testenv.Env, changeID string, wave int) {
	t.Helper()
	mustUpdate(t, env, changeID, workflows.UpdateApprove, approval(t, env, "alice", changeID, wave))
	mustUpdate(t, env, changeID, workflows.UpdateApprove, approval(t, env, "bob", changeID, wave))
}

// cleanup is the CloudTrail administrator's proven confirmation; with ack
// it acknowledges every kind of impact.
func cleanup(t *testing.T, env *testenv.Env, person, changeID string, ack bool) workflows.CleanupConfirmation {
	c := workflows.CleanupConfirmation{AcknowledgeMemberLoggingStops: ack, AcknowledgeEventDataStores: ack, AcknowledgeDelegatedAdministrators: ack, Who: workflows.Who{Nonce: testenv.Nonce()}}
	c.Who = env.Prove(t, person, c.Binding(changeID))
	return c
}

// control is a proven pause, resume or cancel.
func control(t *testing.T, env *testenv.Env, person, changeID string, kind workflows.DecisionKind, reason string) workflows.Control {
	c := workflows.Control{Reason: reason, Who: workflows.Who{Nonce: testenv.Nonce()}}
	c.Who = env.Prove(t, person, c.Binding(changeID, kind))
	return c
}

func update(env *testenv.Env, id, name string, arg any) error {
	h, err := env.Client.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(context.Background(), nil)
}

func mustUpdate(t *testing.T, env *testenv.Env, id, name string, arg any) {
	t.Helper()
	if err := update(env, id, name, arg); err != nil {
		t.Fatalf("%s %s: %v", name, id, err)
	}
}

// endedWithin waits up to d for a change to end, and returns the error it
// ended with.
func endedWithin(run client.WorkflowRun, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return run.Get(ctx, nil)
}

func result(t *testing.T, run client.WorkflowRun) workflows.ChangeProgress {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var p workflows.ChangeProgress
	if err := run.Get(ctx, &p); err != nil {
		t.Fatalf("%s: %v", run.GetID(), err)
	}
	return p
}

func TestEnableDisableAndRollbackAgainstTheSandbox(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	v := view(t, env, "acme-prod")
	member := v.org.MemberAccountIDs[0]

	in := request(t, env, "enable-1", workflows.ActionEnable, "acme-prod")
	run := start(t, env, in)
	p := waitChange(t, env, in.ChangeID, awaitingWave(1))
	if p.Targets[0].Plan == nil || len(p.Targets[0].Plan.Steps) != 6 || v.trustedAccess() {
		t.Fatalf("before approval: plan %+v, trusted access %t", p.Targets[0].Plan, v.trustedAccess())
	}
	if p.RequestedBy.By != "dave" || p.RequestedBy.ARN != env.AWS.Person("dave").ARN || p.Policy == nil || p.Policy.RequiredApprovals != 2 {
		t.Fatalf("requested by %+v under policy %+v", p.RequestedBy, p.Policy)
	}
	wantIn(t, update(env, in.ChangeID, workflows.UpdateApprove, approval(t, env, "dave", in.ChangeID, 1)), "two-person rule")
	approveWave(t, env, in.ChangeID, 1)
	if p = result(t, run); p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("enable ended %s: %+v", p.Phase, p.Targets)
	}
	if !v.trustedAccess() || !v.listed() || !v.role() || !v.logging(v.org.ManagementAccountID) || !v.logging(member) {
		t.Fatalf("after enable: trusted access %t (listed %t), role %t, logging %t, member logging %t",
			v.trustedAccess(), v.listed(), v.role(), v.logging(v.org.ManagementAccountID), v.logging(member))
	}
	if a := p.Waves[0].Approvals; len(a) != 2 || a[0].ARN != env.AWS.Person("alice").ARN || a[1].ARN != env.AWS.Person("bob").ARN {
		t.Errorf("approvals keep no verified ARNs: %+v", a)
	}
	// The result is the bounded progress: a change of few organizations
	// keeps their evidence, and none says what the change told it.
	if tg := p.Targets[0]; tg.Evidence == nil || tg.Told != nil {
		t.Errorf("the result's organization: evidence %+v, told %+v; want the evidence and nothing told", tg.Evidence, tg.Told)
	}
	recordHistory(t, env, in.ChangeID, "change-enable")
	recordHistory(t, env, workflows.TargetWorkflowID(in.ChangeID, "acme-prod"), "change-enable-child")

	in = request(t, env, "disable-1", workflows.ActionDisable, "acme-prod")
	run = start(t, env, in)
	p = waitChange(t, env, in.ChangeID, phaseIs(workflows.PhaseAwaitingCleanup))
	if inv := p.Targets[0].Inventory; inv == nil || len(inv.OrganizationTrails) != 1 || inv.OrganizationTrails[0].ARN != v.trail {
		t.Fatalf("inventory %+v", inv)
	}
	wantIn(t, update(env, in.ChangeID, workflows.UpdateApprove, approval(t, env, "alice", in.ChangeID, 1)), "not awaiting approval")
	wantIn(t, update(env, in.ChangeID, workflows.UpdateConfirmCleanup, cleanup(t, env, "alice", in.ChangeID, true)), "not a CloudTrail administrator")
	mustUpdate(t, env, in.ChangeID, workflows.UpdateConfirmCleanup, cleanup(t, env, "carol", in.ChangeID, false))
	p = waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool {
		return p.Phase == workflows.PhaseAwaitingCleanup && p.Targets[0].Phase == workflows.PhaseAwaitingCleanup &&
			p.Awaiting != nil && strings.Contains(p.Awaiting.What, "acknowledge")
	})
	if !v.trustedAccess() {
		t.Fatal("a confirmation without acknowledgement went through")
	}
	mustUpdate(t, env, in.ChangeID, workflows.UpdateConfirmCleanup, cleanup(t, env, "carol", in.ChangeID, true))
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	if !v.trustedAccess() {
		t.Fatal("trusted access was disabled before approval")
	}
	approveWave(t, env, in.ChangeID, 1)
	if p = result(t, run); p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("disable ended %s: %+v", p.Phase, p.Targets)
	}
	if v.trustedAccess() || !v.trailExists() || !v.role() || v.logging(member) {
		t.Fatalf("after disable: trusted access %t, trail %t, role %t, member logging %t", v.trustedAccess(), v.trailExists(), v.role(), v.logging(member))
	}
	recordHistory(t, env, in.ChangeID, "change-disable")
	recordHistory(t, env, workflows.TargetWorkflowID(in.ChangeID, "acme-prod"), "change-disable-child")

	in = request(t, env, "rollback-1", workflows.ActionRollback, "acme-prod")
	run = start(t, env, in)
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	approveWave(t, env, in.ChangeID, 1)
	if p = result(t, run); p.Phase != workflows.PhaseRolledBack || p.Targets[0].Evidence == nil || len(p.Targets[0].Evidence.Trails) != 1 || !p.Targets[0].Evidence.Trails[0].IsLogging {
		t.Fatalf("rollback ended %s with evidence %+v", p.Phase, p.Targets[0].Evidence)
	}
	if !v.trustedAccess() || !v.logging(member) {
		t.Fatal("after rollback the member account's trail does not log")
	}
	assertHistoriesHoldNoSecrets(t, env)
}

// Decisions sent straight to Temporal, as anyone who can reach it could,
// are refused unless a person's own AWS credentials prove them for exactly
// that decision; each refusal says why, and none changes the gate.
func TestDecisionsWithoutAValidProofChangeNothing(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	v := view(t, env, "globex")
	in := request(t, env, "enable-proofs", workflows.ActionEnable, "globex")
	start(t, env, in)
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	id := in.ChangeID

	claimed := workflows.Decision{Wave: 1, Who: workflows.Who{By: "alice"}}
	garbage := workflows.Decision{Wave: 1, Who: workflows.Who{By: "alice", Proof: "tgp1:not-a-proof", Nonce: "n"}}
	bobAsAlice := approval(t, env, "bob", id, 1)
	bobAsAlice.By = "alice"
	otherChange := approval(t, env, "alice", "enable-elsewhere", 1)
	otherWave := approval(t, env, "alice", id, 2)
	otherWave.Wave = 1
	d := workflows.Decision{Wave: 1, Who: workflows.Who{Nonce: testenv.Nonce()}}
	d.Who = env.ProveAt(t, "alice", d.Binding(id, workflows.DecisionApprove), time.Now().Add(-20*time.Minute))
	expired := d
	d = workflows.Decision{Wave: 1, Who: workflows.Who{Nonce: testenv.Nonce()}}
	d.Who = env.ProveAs(t, env.Stranger(t, "mallory"), d.Binding(id, workflows.DecisionApprove))
	unmapped := d
	d = workflows.Decision{Wave: 1, Who: workflows.Who{Nonce: testenv.Nonce()}}
	d.Who = env.ProveAs(t, env.Forged(t, "alice"), d.Binding(id, workflows.DecisionApprove))
	forged := d
	replayed := approval(t, env, "alice", id, 1)
	mustUpdate(t, env, id, workflows.UpdateApprove, replayed)

	for _, tc := range []struct {
		name string
		d    workflows.Decision
		want string
	}{
		{"a name without proof", claimed, "no proof of identity"},
		{"a proof that is not one", garbage, "the proof was refused"},
		{"another person's proof", bobAsAlice, "the proof is bob's"},
		{"a proof made for another change", otherChange, "made for change enable-elsewhere, not enable-proofs"},
		{"a proof made for another wave", otherWave, "made for wave 2, not wave 1"},
		{"an expired proof", expired, "15 minutes"},
		{"a proof of an unmapped ARN", unmapped, "is not mapped to any person"},
		{"a forged proof", forged, "SignatureDoesNotMatch"},
		{"a replayed proof", replayed, "already used"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantIn(t, update(env, id, workflows.UpdateApprove, tc.d), tc.want)
		})
	}
	p := waitChange(t, env, id, awaitingWave(1))
	if len(p.Waves[0].Approvals) != 1 || v.trustedAccess() {
		t.Fatalf("refused decisions changed the gate: approvals %+v, trusted access %t", p.Waves[0].Approvals, v.trustedAccess())
	}
	if refused := len(refusals(p)); refused != 8 {
		t.Errorf("%d refused attempts in the record, want 8 (a decision without any proof leaves no trace)", refused)
	}
	mustUpdate(t, env, id, workflows.UpdateCancel, control(t, env, "dave", id, workflows.DecisionCancel, "test over"))
	waitChange(t, env, id, phaseIs(workflows.PhaseCancelled))
	assertHistoriesHoldNoSecrets(t, env)
}

// A requester who sends their own policy along with a change (as an older
// CLI, or one configured to lower the bar, would) changes nothing: the
// worker's configuration gates and executes the change.
func TestTheWorkersConfigurationGatesAndExecutesTheChange(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	v := view(t, env, "acme-staging")
	in := workflows.ChangeInput{ChangeID: "enable-lowered", Action: workflows.ActionEnable, Organizations: []string{"acme-staging"}}
	in = env.Request(t, "dave", in)
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	_ = json.Unmarshal(raw, &payload)
	payload["policy"] = map[string]any{"required_approvals": 1, "approvers": []string{"dave", "mallory"}}
	payload["trail"] = map[string]any{"name": "elsewhere", "bucket": "attacker-bucket"}
	payload["role_arn"] = "arn:aws:iam::999999999999:role/Elsewhere"
	if _, err := env.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: in.ChangeID, TaskQueue: env.Config.Temporal.TaskQueue}, workflows.ChangeWorkflowName, payload); err != nil {
		t.Fatal(err)
	}
	p := waitChange(t, env, in.ChangeID, awaitingWave(1))
	if p.Policy.RequiredApprovals != 2 || strings.Join(p.Policy.Approvers, ",") != "alice,bob" {
		t.Fatalf("policy in force %+v, want the worker's", p.Policy)
	}
	if plan := p.Targets[0].Plan; plan == nil || !slices.ContainsFunc(plan.Steps, func(s workflows.PlanStep) bool {
		return s.Kind == workflows.StepCreateTrail && strings.Contains(s.Description, env.Config.Trail.Name)
	}) {
		t.Fatalf("plan %+v does not manage the worker's trail", plan)
	}
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, approval(t, env, "alice", in.ChangeID, 1))
	p = waitChange(t, env, in.ChangeID, awaitingWave(1))
	if len(p.Waves[0].Approvals) != 1 || v.trustedAccess() {
		t.Fatalf("one approval released the change: %+v", p.Waves[0].Approvals)
	}
	mustUpdate(t, env, in.ChangeID, workflows.UpdateApprove, approval(t, env, "bob", in.ChangeID, 1))
	p = waitChange(t, env, in.ChangeID, func(p workflows.ChangeProgress) bool { return p.Phase.Final() })
	if p.Phase != workflows.PhaseSucceeded || !v.trustedAccess() || !v.trailExists() {
		t.Fatalf("change ended %s; trusted access %t, the worker's trail %t", p.Phase, v.trustedAccess(), v.trailExists())
	}
}

// A change that names an organization the worker does not know ends at
// once, before anything is read or changed, and says which.
func TestAnOrganizationTheWorkerDoesNotKnowIsRefused(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	in := request(t, env, "enable-unknown", workflows.ActionEnable, "acme-prod", "initech")
	run := start(t, env, in)
	wantIn(t, endedWithin(run, time.Minute), "has no organization initech")
	if v := view(t, env, "acme-prod"); v.trustedAccess() {
		t.Error("a refused change changed AWS")
	}
}

// Signals carry no proof of their sender, and an organization's workflow ID
// is predictable: a release, a cleanup confirmation or a report sent
// straight through Temporal moves nothing. The target ignores a decision
// its change did not send, and the change reads a target's plan from the
// target, not from the report.
func TestSignalsSentStraightThroughTemporalMoveNothing(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	v := view(t, env, "acme-prod")
	enable := request(t, env, "enable-forged-signals", workflows.ActionEnable, "acme-prod")
	start(t, env, enable)
	p := waitChange(t, env, enable.ChangeID, awaitingWave(1))
	plan := p.Targets[0].Plan
	target := workflows.TargetWorkflowID(enable.ChangeID, "acme-prod")
	forged := []struct {
		id, signal string
		arg        any
	}{
		{target, workflows.SignalParentDecision, workflows.ParentDecision{Kind: workflows.ParentRelease, People: []workflows.Who{{By: "alice"}, {By: "bob"}}, At: time.Now().UTC()}},
		// A word the worker never gave: the target checks it with the
		// worker's key, and refuses it.
		{target, workflows.SignalParentDecision, workflows.ParentDecision{Kind: workflows.ParentRelease, People: []workflows.Who{{By: "alice"}, {By: "bob"}}, At: time.Now().UTC(),
			Word: "Xn2JQG3v0p1nJ2bHk0l5c3FvZ1R0aXBSa2tJbGhPc2U"}},
		{enable.ChangeID, workflows.SignalTargetReport, workflows.TargetReport{Organization: "acme-prod", Phase: workflows.PhaseAwaitingApproval,
			Plan: &workflows.Plan{Steps: []workflows.PlanStep{{Kind: workflows.StepEnableTrustedAccess, Description: "nothing to worry about"}}}}},
	}
	for _, f := range forged {
		if err := env.Client.SignalWorkflow(ctx, f.id, "", f.signal, f.arg); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	var tp workflows.TargetProgress
	for time.Now().Before(deadline) && strings.Count(recordKinds(tp.Record), "refused") < 2 {
		if q, err := env.Client.QueryWorkflow(ctx, target, "", workflows.QueryProgress); err == nil {
			_ = q.Get(&tp)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Count(recordKinds(tp.Record), "refused") < 2 || tp.Phase != workflows.PhaseAwaitingApproval {
		t.Fatalf("a release the change did not send: the organization is %s, record %s", tp.Phase, recordKinds(tp.Record))
	}
	p = waitChange(t, env, enable.ChangeID, awaitingWave(1))
	if v.trustedAccess() || len(p.Waves[0].Approvals) != 0 || p.Targets[0].Plan == nil || len(p.Targets[0].Plan.Steps) != len(plan.Steps) {
		t.Fatalf("forged signals moved the change: trusted access %t, approvals %+v, plan %+v", v.trustedAccess(), p.Waves[0].Approvals, p.Targets[0].Plan)
	}
	mustUpdate(t, env, enable.ChangeID, workflows.UpdateCancel, control(t, env, "dave", enable.ChangeID, workflows.DecisionCancel, "test over"))
	waitChange(t, env, enable.ChangeID, phaseIs(workflows.PhaseCancelled))
}
