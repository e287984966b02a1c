package activities_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// Preflight passes the organization as configured, and refuses a
// configuration that acts elsewhere than in the management account of an
// organization with all features.
func TestPreflightRefusesWhatIsNotTheManagementAccountOfAnAllFeaturesOrganization(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	if id, err := acts.Preflight(ctx, in.OrgInput); err != nil || id.ManagementAccountID != o.ManagementAccountID || id.FeatureSet != "ALL" {
		t.Fatalf("preflight of %s: %+v, %v", o.Name, id, err)
	}
	preflight := func(org config.Organization) error {
		acts, in := reader(env, org)
		_, err := acts.Preflight(ctx, in)
		return err
	}

	// A role in a member account: trailgate would act outside the
	// management account.
	member := o.MemberAccountIDs[0]
	roleARN, err := env.Sandbox.CreateRole(awssandbox.RoleSpec{AccountID: member, Name: "TrailgateOperator", TrustedAccountID: env.Operator.ID, ExternalID: "x-member"})
	if err != nil {
		t.Fatal(err)
	}
	refusedAs(t, preflight(config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: roleARN, ExternalID: "x-member"}),
		activities.ErrNotManagementAccount, "acts in account "+member, "not in the management account "+o.ManagementAccountID)

	// The configuration names another management account than AWS says.
	refusedAs(t, preflight(config.Organization{Name: o.Name, ManagementAccountID: env.Orgs[1].ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID}),
		activities.ErrNotManagementAccount, "configured management account "+env.Orgs[1].ManagementAccountID, "fix management_account_id or role_arn")

	// An organization with consolidated billing only.
	billing, err := env.Sandbox.CreateOrganization(awssandbox.OrganizationSpec{Name: "billing-only", FeatureSet: "CONSOLIDATED_BILLING", Members: 1})
	if err != nil {
		t.Fatal(err)
	}
	roleARN, err = env.Sandbox.CreateRole(awssandbox.RoleSpec{AccountID: billing.Management.ID, Name: "TrailgateOperator", TrustedAccountID: env.Operator.ID, ExternalID: "x-billing"})
	if err != nil {
		t.Fatal(err)
	}
	refusedAs(t, preflight(config.Organization{Name: "billing-only", ManagementAccountID: billing.Management.ID, RoleARN: roleARN, ExternalID: "x-billing"}),
		activities.ErrNotAllFeatures, "feature set is CONSOLIDATED_BILLING", "enable-all-features")
}

// A disable stops organization event data stores and CloudTrail's
// delegated administrators as well as organization trails: the inventory
// names them, and leaves out an event data store of the management account
// alone. Before there are any, even with trusted access enabled, the
// inventory is empty: a disable there has nothing for a CloudTrail
// administrator to clean up.
func TestInventoryNamesEventDataStoresAndDelegatedAdministrators(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	if _, err := acts.EnableTrustedAccess(ctx, in.OrgInput); err != nil {
		t.Fatal(err)
	}
	inv, err := acts.TakeInventory(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.Empty() || len(inv.TrailARNs()) != 0 {
		t.Errorf("inventory of %s with nothing in it: %+v, empty %v", o.Name, inv, inv.Empty())
	}

	if _, err := acts.EnsureServiceLinkedRole(ctx, in.OrgInput); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(env.ConfigFor(o.ManagementAccountID))
	orgStore, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("org-store"), OrganizationEnabled: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("own-store"), OrganizationEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	delegate := o.MemberAccountIDs[0]
	if _, err := ct.RegisterOrganizationDelegatedAdmin(ctx, &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(delegate)}); err != nil {
		t.Fatal(err)
	}
	inv, err = acts.TakeInventory(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.EventDataStores) != 1 || inv.EventDataStores[0] != aws.ToString(orgStore.EventDataStoreArn) {
		t.Errorf("event data stores %v, want only the organization's %s", inv.EventDataStores, aws.ToString(orgStore.EventDataStoreArn))
	}
	if len(inv.DelegatedAdministrators) != 1 || inv.DelegatedAdministrators[0] != delegate {
		t.Errorf("delegated administrators %v, want %s", inv.DelegatedAdministrators, delegate)
	}
	if inv.Empty() {
		t.Error("an inventory with a store and an administrator says nothing depends on trusted access")
	}
}

// A change whose organization the worker does not know, or whose
// management account changed in the worker's configuration since the
// change started, is refused before any AWS call.
func TestActivitiesActOnlyOnOrganizationsAsTheWorkerKnowsThem(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	_, err := acts.Preflight(ctx, activities.OrgInput{Organization: "initech"})
	refusedAs(t, err, activities.ErrUnknownOrganization, "organization initech is not in the worker's configuration", "known: "+o.Name)
	moved := in.OrgInput
	moved.ManagementAccountID = env.Orgs[1].ManagementAccountID
	_, err = acts.ReadState(ctx, moved)
	refusedAs(t, err, activities.ErrUnknownOrganization, "had management account "+env.Orgs[1].ManagementAccountID+" when the change started")
	res, err := acts.ResolveChange(ctx, activities.ResolveInput{Organizations: []string{o.Name, "initech", "hooli"}})
	refusedAs(t, err, activities.ErrUnknownOrganization, "no organization initech, hooli")
	if len(res.Organizations) != 0 {
		t.Errorf("a refused resolution resolved %+v", res.Organizations)
	}
}

// BenchmarkReadState reads one organization's CloudTrail integration
// through the real AWS SDK clients, over HTTP, from the sandbox, with the
// organization's role assumed once and cached.
func BenchmarkReadState(b *testing.B) {
	env := sandboxtest.Start(b, awssandbox.Options{})
	acts, in := reader(env, asConfigured(env.Orgs[0]))
	in.Trail = activities.TrailSettings{Name: "org-trail", Bucket: "org-trail-bucket"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := acts.ReadState(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
