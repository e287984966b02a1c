package activities_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
)

// A change that names organizations the worker knows starts with each of
// them as the worker reaches it, the worker's managed trail when it enables
// one, and the worker's gate policy. Resolving reads the worker's
// configuration alone: no AWS call.
func TestResolvedChangeCarriesTheWorkersTrailAndPolicy(t *testing.T) {
	ctx := context.Background()
	orgs := []config.Organization{
		{Name: "acme-prod", ManagementAccountID: "111111111111", RoleARN: "arn:aws:iam::111111111111:role/Trailgate", ExternalID: "x-prod"},
		{Name: "acme-dev", ManagementAccountID: "222222222222", RoleARN: "arn:aws:iam::222222222222:role/Trailgate", ExternalID: "x-dev"},
	}
	auth := activities.Authority{
		Organizations: orgs,
		Trail:         config.Trail{Name: "org-trail", Bucket: "trail-" + config.BucketAccountPlaceholder, MultiRegion: true, LogFileValidation: true},
		Approvals:     config.Approvals{Required: 2, Approvers: []string{"alice", "bob"}, CloudTrailAdmins: []string{"carol"}},
	}
	acts := activities.NewWithFactory(awsclient.NewFactoryFromConfig(aws.Config{}, nil), auth, activities.Polling{})

	res, err := acts.ResolveChange(ctx, activities.ResolveInput{Organizations: []string{orgs[1].Name, orgs[0].Name}, ManageTrail: true})
	if err != nil {
		t.Fatalf("resolve a change of known organizations: %v", err)
	}
	if len(res.Organizations) != 2 {
		t.Fatalf("resolved %+v, want the two organizations named", res.Organizations)
	}
	for i, want := range []config.Organization{orgs[1], orgs[0]} {
		got := res.Organizations[i]
		if got.Organization != want.Name || got.ManagementAccountID != want.ManagementAccountID {
			t.Errorf("organization %d resolved as %+v, want %s (%s)", i, got, want.Name, want.ManagementAccountID)
		}
		trail := activities.TrailSettings{Name: "org-trail", Bucket: "trail-" + want.ManagementAccountID, MultiRegion: true, LogFileValidation: true}
		if !reflect.DeepEqual(got.Trail, trail) {
			t.Errorf("%s manages trail %+v, want %+v", want.Name, got.Trail, trail)
		}
	}
	if p := res.Policy; p.RequiredApprovals != 2 || !slices.Equal(p.Approvers, []string{"alice", "bob"}) || !slices.Equal(p.CloudTrailAdmins, []string{"carol"}) {
		t.Errorf("the change's policy is %+v, want 2 approvals of alice or bob, and carol confirming cleanup", p)
	}
	if p, err := acts.ResolvePolicy(ctx); err != nil || !slices.Equal(p.Approvers, []string{"alice", "bob"}) || !slices.Equal(p.CloudTrailAdmins, []string{"carol"}) {
		t.Errorf("the worker's policy is %+v (%v), want alice and bob approving, carol confirming cleanup", p, err)
	}

	// A disable manages no trail.
	res, err = acts.ResolveChange(ctx, activities.ResolveInput{Organizations: []string{orgs[0].Name}})
	if err != nil || len(res.Organizations) != 1 || !reflect.DeepEqual(res.Organizations[0].Trail, activities.TrailSettings{}) {
		t.Errorf("a change without a managed trail resolved as %+v (%v)", res.Organizations, err)
	}
}

// A change over many organizations asks first for the policy alone: every
// organization is checked, none is resolved, and an unknown one is named
// with a few of those the worker knows, not all of them.
func TestPolicyOnlyChecksEveryOrganizationAndResolvesNone(t *testing.T) {
	var orgs []config.Organization
	for i := range 50 {
		orgs = append(orgs, config.Organization{Name: fmt.Sprintf("org-%02d", i), ManagementAccountID: fmt.Sprintf("1111111111%02d", i)})
	}
	auth := activities.Authority{Organizations: orgs, Approvals: config.Approvals{Required: 2, Approvers: []string{"alice", "bob"}}}
	acts := activities.NewWithFactory(awsclient.NewFactoryFromConfig(aws.Config{}, nil), auth, activities.Polling{})
	ctx := context.Background()
	res, err := acts.ResolveChange(ctx, activities.ResolveInput{Organizations: []string{"org-01", "org-02"}, ManageTrail: true, PolicyOnly: true})
	if err != nil || len(res.Organizations) != 0 || res.Policy.RequiredApprovals != 2 {
		t.Errorf("policy only: %+v (%v); want the policy and no organization", res, err)
	}
	_, err = acts.ResolveChange(ctx, activities.ResolveInput{Organizations: []string{"org-01", "initech"}, PolicyOnly: true})
	if err == nil || !strings.Contains(err.Error(), "no organization initech") || !strings.Contains(err.Error(), "(50 in all)") || strings.Contains(err.Error(), "org-20") {
		t.Errorf("policy only, with an unknown organization: %v; want initech refused, 10 known names and the count", err)
	}
}
