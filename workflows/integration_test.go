package workflows_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// awsView reads an organization as its management account and one member
// account see it, through the AWS SDK.
type awsView struct {
	t       *testing.T
	env     *testenv.Env
	org     awssandbox.DevOrganization
	trail   string
	timeout context.Context
}

func view(t *testing.T, env *testenv.Env, org string) *awsView {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	o := env.Org(org)
	return &awsView{t: t, env: env, org: o, timeout: ctx,
		trail: "arn:aws:cloudtrail:us-east-1:" + o.ManagementAccountID + ":trail/" + env.Config.Trail.Name}
}

func (v *awsView) trustedAccess() bool {
	out, err := organizations.NewFromConfig(v.env.AWS.ConfigFor(v.org.ManagementAccountID)).ListAWSServiceAccessForOrganization(v.timeout, &organizations.ListAWSServiceAccessForOrganizationInput{})
	if err != nil {
		v.t.Fatal(err)
	}
	for _, p := range out.EnabledServicePrincipals {
		if aws.ToString(p.ServicePrincipal) == "cloudtrail.amazonaws.com" {
			return true
		}
	}
	return false
}

func (v *awsView) role() bool {
	_, err := iam.NewFromConfig(v.env.AWS.ConfigFor(v.org.ManagementAccountID)).GetRole(v.timeout, &iam.GetRoleInput{RoleName: aws.String("AWSServiceRoleForCloudTrail")})
	return err == nil
}

// logging reports whether the organization trail logs, as the account sees it.
func (v *awsView) logging(account string) bool {
	out, err := cloudtrail.NewFromConfig(v.env.AWS.ConfigFor(account)).GetTrailStatus(v.timeout, &cloudtrail.GetTrailStatusInput{Name: aws.String(v.trail)})
	if err != nil {
		v.t.Fatalf("trail status of %s as %s: %v", v.trail, account, err)
	}
	return aws.ToBool(out.IsLogging)
}

func (v *awsView) trailExists() bool {
	_, err := cloudtrail.NewFromConfig(v.env.AWS.ConfigFor(v.org.ManagementAccountID)).GetTrail(v.timeout, &cloudtrail.GetTrailInput{Name: aws.String(v.trail)})
	return err == nil
}

func startTarget(t *testing.T, env *testenv.Env, id string, action workflows.Action, org string) client.WorkflowRun {
	in := workflows.TargetInput{
		ChangeID: id, Action: action, Policy: workflows.PolicyFromConfig(env.Config.Approvals), Requester: "dave",
	}
	for _, o := range env.Config.Organizations {
		if o.Name == org {
			in.Organization = o
		}
	}
	if action == workflows.ActionEnable {
		in.Trail = env.Config.Trail
	}
	run, err := env.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.TargetWorkflowID(id, org), TaskQueue: env.Config.Temporal.TaskQueue,
	}, workflows.TargetWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// waitPhase polls the progress query until the workflow reaches the phase.
func waitPhase(t *testing.T, env *testenv.Env, id string, phase workflows.Phase) workflows.TargetProgress {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var p workflows.TargetProgress
	for time.Now().Before(deadline) {
		v, err := env.Client.QueryWorkflow(context.Background(), id, "", workflows.QueryProgress)
		if err == nil && v.Get(&p) == nil && p.Phase == phase {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not reach %s; it is %s (last error %q)", id, phase, p.Phase, p.LastError)
	return p
}

func update(t *testing.T, env *testenv.Env, id, name string, arg any) error {
	t.Helper()
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
	if err := update(t, env, id, name, arg); err != nil {
		t.Fatalf("%s %s: %v", name, id, err)
	}
}

func result(t *testing.T, run client.WorkflowRun) workflows.TargetProgress {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var p workflows.TargetProgress
	if err := run.Get(ctx, &p); err != nil {
		t.Fatalf("%s: %v", run.GetID(), err)
	}
	return p
}

func TestEnableDisableAndRollbackAgainstTheSandbox(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	v := view(t, env, "acme-prod")
	member := v.org.MemberAccountIDs[0]

	run := startTarget(t, env, "enable-1", workflows.ActionEnable, "acme-prod")
	id := run.GetID()
	p := waitPhase(t, env, id, workflows.PhaseAwaitingApproval)
	if p.Plan == nil || len(p.Plan.Steps) != 5 || v.trustedAccess() {
		t.Fatalf("before approval: plan %+v, trusted access %t", p.Plan, v.trustedAccess())
	}
	if err := update(t, env, id, workflows.UpdateApprove, workflows.Decision{By: "dave"}); err == nil {
		t.Fatal("the requester approved their own change")
	}
	mustUpdate(t, env, id, workflows.UpdateApprove, workflows.Decision{By: "alice"})
	mustUpdate(t, env, id, workflows.UpdateApprove, workflows.Decision{By: "bob"})
	if p = result(t, run); p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("enable ended %s: %s", p.Phase, p.LastError)
	}
	if !v.trustedAccess() || !v.role() || !v.logging(v.org.ManagementAccountID) || !v.logging(member) {
		t.Fatalf("after enable: trusted access %t, role %t, logging %t, member logging %t",
			v.trustedAccess(), v.role(), v.logging(v.org.ManagementAccountID), v.logging(member))
	}
	recordHistory(t, env, id, "target-enable")

	run = startTarget(t, env, "disable-1", workflows.ActionDisable, "acme-prod")
	id = run.GetID()
	p = waitPhase(t, env, id, workflows.PhaseAwaitingCleanup)
	if p.Inventory == nil || len(p.Inventory.OrganizationTrails) != 1 || p.Inventory.OrganizationTrails[0].ARN != v.trail {
		t.Fatalf("inventory %+v", p.Inventory)
	}
	if err := update(t, env, id, workflows.UpdateApprove, workflows.Decision{By: "alice"}); err == nil {
		t.Fatal("approved before the cleanup confirmation")
	}
	mustUpdate(t, env, id, workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{By: "carol"})
	time.Sleep(time.Second)
	p = waitPhase(t, env, id, workflows.PhaseAwaitingCleanup)
	if !v.trustedAccess() || p.Awaiting == nil {
		t.Fatalf("a confirmation without acknowledgement went through: %+v", p.Awaiting)
	}
	mustUpdate(t, env, id, workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{By: "carol", AcknowledgeMemberLoggingStops: true})
	waitPhase(t, env, id, workflows.PhaseAwaitingApproval)
	if !v.trustedAccess() {
		t.Fatal("trusted access was disabled before approval")
	}
	mustUpdate(t, env, id, workflows.UpdateApprove, workflows.Decision{By: "alice"})
	mustUpdate(t, env, id, workflows.UpdateApprove, workflows.Decision{By: "bob"})
	if p = result(t, run); p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("disable ended %s: %s", p.Phase, p.LastError)
	}
	if v.trustedAccess() || !v.trailExists() || !v.role() || v.logging(member) {
		t.Fatalf("after disable: trusted access %t, trail %t, role %t, member logging %t", v.trustedAccess(), v.trailExists(), v.role(), v.logging(member))
	}
	recordHistory(t, env, id, "target-disable")

	run = startTarget(t, env, "rollback-1", workflows.ActionRollback, "acme-prod")
	id = run.GetID()
	waitPhase(t, env, id, workflows.PhaseAwaitingApproval)
	mustUpdate(t, env, id, workflows.UpdateApprove, workflows.Decision{By: "alice"})
	mustUpdate(t, env, id, workflows.UpdateApprove, workflows.Decision{By: "bob"})
	if p = result(t, run); p.Phase != workflows.PhaseRolledBack || p.Evidence == nil || len(p.Evidence.Trails) != 1 || !p.Evidence.Trails[0].IsLogging {
		t.Fatalf("rollback ended %s with evidence %+v", p.Phase, p.Evidence)
	}
	if !v.trustedAccess() || !v.logging(member) {
		t.Fatal("after rollback the member account's trail does not log")
	}
}

func TestEnableConvergesThroughThrottlingAndServerErrors(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Sandbox: awssandbox.Options{Seed: 7, Faults: []awssandbox.Fault{
		{Service: "organizations", Error: "TooManyRequestsException", Probability: 0.3},
		{Service: "cloudtrail", Error: "ServiceException", Probability: 0.3},
		{Service: "organizations", Operation: "EnableAWSServiceAccess", Error: "ConcurrentModificationException", Count: 2},
		{Service: "iam", Error: "Throttling", Probability: 0.3},
		{Service: "s3", Error: "SlowDown", Probability: 0.3},
	}}})
	v := view(t, env, "globex")
	run := startTarget(t, env, "enable-faults", workflows.ActionEnable, "globex")
	waitPhase(t, env, run.GetID(), workflows.PhaseAwaitingApproval)
	mustUpdate(t, env, run.GetID(), workflows.UpdateApprove, workflows.Decision{By: "alice"})
	mustUpdate(t, env, run.GetID(), workflows.UpdateApprove, workflows.Decision{By: "bob"})
	if p := result(t, run); p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("enable ended %s: %s", p.Phase, p.LastError)
	}
	env.AWS.Sandbox.SetFaults(nil)
	if !v.trustedAccess() || !v.role() || !v.logging(v.org.MemberAccountIDs[0]) {
		t.Fatal("AWS does not show the enabled state after faults")
	}
}

// recordHistory writes the workflow's history to testdata when
// TRAILGATE_RECORD_HISTORIES is set, for the replay test.
func recordHistory(t *testing.T, env *testenv.Env, id, name string) {
	t.Helper()
	if os.Getenv("TRAILGATE_RECORD_HISTORIES") == "" {
		return
	}
	iter := env.Client.GetWorkflowHistory(context.Background(), id, "", false, 0)
	var events []json.RawMessage
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := protoJSON(ev)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, b)
	}
	out, err := json.MarshalIndent(map[string]any{"events": events}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "histories", name+".json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
}
