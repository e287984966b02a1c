package activities_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
)

// The record says whether trailgate created CloudTrail's service-linked
// role: it does once, in the management account, and says so; after that
// the role is there, the organization's state shows it, and trailgate says
// it created nothing.
func TestServiceLinkedRoleIsCreatedOnceAndSaysSo(t *testing.T) {
	env := awssandbox.StartTest(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	acts, in := reader(env, config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID})
	iamc := iam.NewFromConfig(env.ConfigFor(o.ManagementAccountID))
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(activities.ServiceLinkedRoleName)}); err == nil {
		t.Fatalf("the management account of %s has %s before trailgate ran", o.Name, activities.ServiceLinkedRoleName)
	}
	if st, err := acts.ReadState(ctx, in); err != nil || st.ServiceLinkedRole {
		t.Fatalf("state before: role %v (%v); want no role", st.ServiceLinkedRole, err)
	}

	created, err := acts.EnsureServiceLinkedRole(ctx, in)
	if err != nil || !created {
		t.Fatalf("first ensure: created %v, %v; want the role created", created, err)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(activities.ServiceLinkedRoleName)}); err != nil {
		t.Fatalf("the role trailgate said it created is not there: %v", err)
	}
	if st, err := acts.ReadState(ctx, in); err != nil || !st.ServiceLinkedRole {
		t.Errorf("state after: role %v (%v); want the role trailgate created", st.ServiceLinkedRole, err)
	}
	created, err = acts.EnsureServiceLinkedRole(ctx, in)
	if err != nil || created {
		t.Errorf("second ensure: created %v, %v; want the existing role kept", created, err)
	}
}

// A management account that refuses the role fails the step, named with the
// organization and its management account, and reports no role created.
func TestServiceLinkedRoleRefusedIsAnErrorNotACreation(t *testing.T) {
	env := awssandbox.StartTest(t, awssandbox.Options{Faults: []awssandbox.Fault{
		{Service: "iam", Operation: "CreateServiceLinkedRole", Error: "AccessDeniedException"},
	}})
	o := env.Orgs[0]
	acts, in := reader(env, config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID})
	created, err := acts.EnsureServiceLinkedRole(context.Background(), in)
	if created {
		t.Error("a refused role is reported as created")
	}
	refusedAs(t, err, "AccessDenied",
		"create role "+activities.ServiceLinkedRoleName+" in organization "+o.Name+" ("+o.ManagementAccountID+")",
		"iam:CreateServiceLinkedRole answered AccessDenied")
}
