package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
)

// inActivity runs f in an activity's context that ends after d, as an
// activity's deadline does: verification polls and heartbeats until then.
func inActivity[T any](t *testing.T, d time.Duration, f func(context.Context) (T, error)) (T, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	var got T
	var gotErr error
	env.RegisterActivityWithOptions(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		got, gotErr = f(ctx)
		return nil
	}, activity.RegisterOptions{Name: "under-test"})
	if _, err := env.ExecuteActivity("under-test"); err != nil {
		t.Fatal(err)
	}
	return got, gotErr
}

// An error AWS gets over (here Organizations failing for longer than the
// SDK's own retries) does not fail verification: it reads again until AWS
// answers and shows trusted access on.
func TestVerificationRidesOutTransientErrors(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	trustedAccessOn(t, acts, in.OrgInput)
	env.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "ListAWSServiceAccessForOrganization", Error: "ServiceException", Count: 4}})
	e, err := inActivity(t, 30*time.Second, func(ctx context.Context) (activities.Evidence, error) {
		return acts.VerifyEnabled(ctx, activities.VerifyInput{OrgInput: in.OrgInput})
	})
	if err != nil || !e.TrustedAccess || e.Checks < 2 {
		t.Errorf("verification through transient errors: %+v, %v; want trusted access seen on a later read", e, err)
	}
}

// Verification does not take a trail that logs for the management account
// alone for an organization trail.
func TestVerificationWantsAnOrganizationTrailNotJustALoggingOne(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	arn := ownTrail(t, env, "eu-west-1", "own-trail", "own-trail-logs")
	trustedAccessOn(t, acts, in.OrgInput)
	cfg := env.ConfigFor(env.Orgs[0].ManagementAccountID)
	cfg.Region = "eu-west-1"
	if _, err := cloudtrail.NewFromConfig(cfg).StartLogging(context.Background(), &cloudtrail.StartLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	missing := "eu-west-1:" + env.Orgs[0].ManagementAccountID + ":trail/nowhere"
	_, err := inActivity(t, 2*time.Second, func(ctx context.Context) (activities.Evidence, error) {
		return acts.VerifyEnabled(ctx, activities.VerifyInput{OrgInput: in.OrgInput, TrailARNs: []string{arn, "arn:aws:cloudtrail:" + missing}})
	})
	if err == nil || !strings.Contains(err.Error(), "trail "+arn+" is not an organization trail") || !strings.Contains(err.Error(), missing+" does not exist") {
		t.Errorf("verification of a trail that is not an organization trail: %v", err)
	}
}
