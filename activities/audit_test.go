package activities_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
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

// With notifications.format slack, a drift notice reaches the one webhook
// as {"text": ...} that names the organization and what drifted; the
// deprecated approvals.webhook_url still reaches it.
func TestDriftNoticeInSlackFormatGoesToTheOneWebhook(t *testing.T) {
	for _, auth := range []func(url string) activities.Authority{
		func(url string) activities.Authority {
			return activities.Authority{Notifications: config.Notifications{WebhookURL: url, Format: config.NotificationsSlack}}
		},
		func(url string) activities.Authority {
			return activities.Authority{Approvals: config.Approvals{WebhookURL: url}, Notifications: config.Notifications{Format: config.NotificationsSlack}}
		},
	} {
		var got map[string]any
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewDecoder(r.Body).Decode(&got)
		}))
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(activities.NewWithFactory(&awsclient.Factory{}, auth(srv.URL), activities.Polling{}))
		_, err := env.ExecuteActivity((&activities.Activities{}).NotifyDrift, activities.DriftNotice{AuditID: "audit-1",
			Appeared: []activities.Finding{{Kind: activities.FindingTrustedAccess, Organization: "acme-prod", Expected: "trusted access enabled", Actual: "trusted access disabled"}}})
		srv.Close()
		text, _ := got["text"].(string)
		if err != nil || len(got) != 1 || !strings.Contains(text, "acme-prod") || !strings.Contains(text, "trusted access disabled") {
			t.Errorf("webhook received %v (%v)", got, err)
		}
	}
}
