package activities_test

import (
	"context"
	"testing"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// In an organization where nothing uses CloudTrail's trusted access, even
// with trusted access enabled, the inventory is empty: a disable there has
// nothing for a CloudTrail administrator to clean up.
func TestInventoryOfAnOrganizationWithNothingToCleanUpIsEmpty(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	acts, in := reader(env, config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID})
	if _, err := acts.EnableTrustedAccess(ctx, in); err != nil {
		t.Fatal(err)
	}
	inv, err := acts.TakeInventory(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.Empty() || len(inv.TrailARNs()) != 0 {
		t.Errorf("inventory of %s with nothing in it: %+v, empty %v", o.Name, inv, inv.Empty())
	}
}
