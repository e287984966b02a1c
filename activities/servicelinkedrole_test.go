package activities_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
)

// The record says whether trailgate created CloudTrail's service-linked
// role: it does once, in the management account, and says so; after that
// the role is there, the organization's state shows it, and trailgate says
// it created nothing.
func TestServiceLinkedRoleIsCreatedOnceAndSaysSo(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	iamc := iam.NewFromConfig(env.ConfigFor(o.ManagementAccountID))
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(activities.ServiceLinkedRoleName)}); err == nil {
		t.Fatalf("the management account of %s has %s before trailgate ran", o.Name, activities.ServiceLinkedRoleName)
	}
	if st, err := acts.ReadState(ctx, in.OrgInput); err != nil || st.ServiceLinkedRole {
		t.Fatalf("state before: role %v (%v); want no role", st.ServiceLinkedRole, err)
	}

	m, err := acts.EnsureServiceLinkedRole(ctx, in.OrgInput)
	if err != nil || len(m.Calls) != 1 || m.Calls[0].Operation != "CreateServiceLinkedRole" || m.Calls[0].Service != "iam.amazonaws.com" || m.Calls[0].RequestID == "" {
		t.Fatalf("first ensure: %+v, %v; want the role created by one call with its request ID", m, err)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(activities.ServiceLinkedRoleName)}); err != nil {
		t.Fatalf("the role trailgate said it created is not there: %v", err)
	}
	if st, err := acts.ReadState(ctx, in.OrgInput); err != nil || !st.ServiceLinkedRole {
		t.Errorf("state after: role %v (%v); want the role trailgate created", st.ServiceLinkedRole, err)
	}
	m, err = acts.EnsureServiceLinkedRole(ctx, in.OrgInput)
	if err != nil || len(m.Calls) != 0 {
		t.Errorf("second ensure: %+v, %v; want the existing role kept, with no call", m, err)
	}
}

// A management account that refuses the role fails the step, named with the
// organization and its management account, and reports no role created.
func TestServiceLinkedRoleRefusedIsAnErrorNotACreation(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{Faults: []awssandbox.Fault{
		{Service: "iam", Operation: "CreateServiceLinkedRole", Error: "AccessDeniedException"},
	}})
	o := env.Orgs[0]
	m, err := acts.EnsureServiceLinkedRole(context.Background(), in.OrgInput)
	if len(m.Calls) != 0 {
		t.Errorf("a refused role is reported as created: %+v", m)
	}
	refusedAs(t, err, "AccessDenied",
		"create role "+activities.ServiceLinkedRoleName+" in organization "+o.Name+" ("+o.ManagementAccountID+")",
		"iam:CreateServiceLinkedRole answered AccessDenied")
}

// A role created between trailgate's read and its create (a retry after a
// lost answer, or a person) is convergence: the refused call is recorded
// with its request ID, as CloudTrail logs it too.
func TestServiceLinkedRoleTakenMeanwhileConvergesAndIsRecorded(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	if _, err := acts.EnsureServiceLinkedRole(ctx, in.OrgInput); err != nil {
		t.Fatal(err)
	}
	env.Sandbox.SetFaults([]awssandbox.Fault{{Service: "iam", Operation: "GetRole", Error: "NoSuchEntity", Count: 1}})
	m, err := acts.EnsureServiceLinkedRole(ctx, in.OrgInput)
	if err != nil || len(m.Calls) != 1 || m.Calls[0].Operation != "CreateServiceLinkedRole" || m.Calls[0].RequestID == "" {
		t.Errorf("a role that was taken meanwhile: %+v, %v; want the refused create recorded with its request ID", m, err)
	}
}
