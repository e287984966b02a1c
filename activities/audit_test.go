package activities_test

import (
	"slices"
	"testing"

	"github.com/trailgate/trailgate/activities"
)

func kinds(fs []activities.Finding) []activities.FindingKind {
	var out []activities.FindingKind
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

// An organization held to enabled whose trail was turned into a
// single-account trail, stopped, and whose bucket lost its statements
// shows each; a trail trailgate does not manage is reported for
// information.
func TestCompareNamesEveryDrift(t *testing.T) {
	trail := activities.TrailSettings{Name: "org-trail", Bucket: "logs"}
	managed := activities.TrailState{Name: "org-trail", ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"}
	other := activities.TrailState{Name: "aws-controltower-BaselineCloudTrail", ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/aws-controltower-BaselineCloudTrail", IsOrganizationTrail: true, OwnerHint: "AWS Control Tower"}
	st := activities.State{ManagementAccountID: "111111111111", Trail: &managed}
	got := kinds(activities.Compare("prod", activities.DesiredEnabled, trail, st, activities.Inventory{OrganizationTrails: []activities.TrailState{other}}))
	want := []activities.FindingKind{activities.FindingTrustedAccess, activities.FindingServiceLinkedRole, activities.FindingTrailNotOrganization,
		activities.FindingTrailNotLogging, activities.FindingBucketPolicy, activities.FindingUnknownTrail}
	if !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	healthy := activities.State{TrustedAccess: true, ServiceLinkedRole: true, BucketPolicyReady: true,
		Trail: &activities.TrailState{Name: "org-trail", ARN: managed.ARN, IsOrganizationTrail: true, IsLogging: true}}
	if got := activities.Compare("prod", activities.DesiredEnabled, trail, healthy, activities.Inventory{OrganizationTrails: []activities.TrailState{*healthy.Trail}}); len(got) != 0 {
		t.Errorf("a healthy organization: %v", got)
	}
	if got := kinds(activities.Compare("prod", activities.DesiredDisabled, trail, healthy, activities.Inventory{})); !slices.Equal(got, []activities.FindingKind{activities.FindingTrustedAccess}) {
		t.Errorf("held to disabled: %v", got)
	}
	if got := activities.Compare("prod", activities.DesiredUnmanaged, trail, st, activities.Inventory{}); len(got) != 0 {
		t.Errorf("unmanaged: %v", got)
	}
	if got := activities.Compare("prod", activities.DesiredEnabled, trail, activities.State{TrustedAccess: true, ServiceLinkedRole: true, BucketPolicyReady: true}, activities.Inventory{}); !slices.Equal(kinds(got), []activities.FindingKind{activities.FindingTrailMissing}) {
		t.Errorf("trail missing: %v", got)
	}
}
