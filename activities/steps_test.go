package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
)

// An organization's plan is made in one activity: each mutation in order,
// each with its own calls; made again, nothing is called.
func TestAPlanIsAppliedInOrderAndAgainChangesNothing(t *testing.T) {
	_, acts, in := inSandbox(t, awssandbox.Options{})
	in.Trail = activities.TrailSettings{Name: "org-trail", Bucket: "org-trail-logs", MultiRegion: true}
	ctx := context.Background()
	s, err := acts.SurveyOrganization(ctx, in.OrgInput)
	if err != nil || s.Identity.FeatureSet != "ALL" || s.State.TrustedAccess || s.State.OrganizationID != in.OrganizationID {
		t.Fatalf("survey: %+v, %v", s, err)
	}
	all := activities.ApplyInput{TrailInput: in, Mutations: []activities.MutationKind{
		activities.MutateEnableTrustedAccess, activities.MutateCreateRole, activities.MutateBucketPolicy, activities.MutateOrganizationTrail,
	}}
	start := time.Now()
	all.Expect = &s.State
	res, err := inActivity(t, time.Minute, func(ctx context.Context) (activities.ApplyResult, error) { return acts.ApplyMutations(ctx, all) })
	applied := res.Applied
	if err != nil || res.Changed != nil || len(applied) != 4 {
		t.Fatalf("applied %+v, %v", res, err)
	}
	callsAre(t, "enable", applied[0].Mutation, start, "organizations.amazonaws.com EnableAWSServiceAccess@us-east-1")
	callsAre(t, "role", applied[1].Mutation, start, "iam.amazonaws.com CreateServiceLinkedRole@us-east-1")
	callsAre(t, "bucket", applied[2].Mutation, start, "s3.amazonaws.com CreateBucket@us-east-1", "s3.amazonaws.com PutBucketPolicy@us-east-1")
	callsAre(t, "trail", applied[3].Mutation, start, "cloudtrail.amazonaws.com CreateTrail@us-east-1", "cloudtrail.amazonaws.com StartLogging@us-east-1")
	if tr := applied[3].Trail; tr == nil || !tr.IsOrganizationTrail || !tr.IsLogging {
		t.Errorf("trail applied: %+v", tr)
	}
	// What the plan was made from is gone: nothing is made.
	res, err = inActivity(t, time.Minute, func(ctx context.Context) (activities.ApplyResult, error) { return acts.ApplyMutations(ctx, all) })
	if err != nil || res.Changed == nil || !res.Changed.TrustedAccess || len(res.Applied) != 0 {
		t.Errorf("applied to a changed organization: %+v, %v; want what AWS shows, and nothing made", res, err)
	}
	// Read again, as Temporal carries it (in JSON), AWS still matches.
	s, err = acts.SurveyOrganization(ctx, in.OrgInput)
	if err != nil || s.State.DateEnabled == nil {
		t.Fatalf("survey after the plan: %+v, %v", s, err)
	}
	var carried activities.State
	if data, err := json.Marshal(s.State); err != nil || json.Unmarshal(data, &carried) != nil {
		t.Fatal(err)
	}
	all.Expect = &carried
	res, err = inActivity(t, time.Minute, func(ctx context.Context) (activities.ApplyResult, error) { return acts.ApplyMutations(ctx, all) })
	if again := res.Applied; err != nil || res.Changed != nil || len(again) != 4 || len(again[2].Calls)+len(again[3].Calls) != 0 {
		t.Errorf("applied again: %+v, %v; want AWS to match and the bucket and trail left alone", res, err)
	}
	c, err := inActivity(t, time.Minute, func(ctx context.Context) (activities.Confirmation, error) {
		return acts.ConfirmChange(ctx, activities.ConfirmInput{
			VerifyInput: activities.VerifyInput{OrgInput: in.OrgInput, TrailARNs: []string{applied[3].Trail.ARN}},
			Calls:       applied[0].Calls,
		})
	})
	if err != nil || !c.Evidence.TrustedAccess || len(c.Evidence.Trails) != 1 || c.Events == nil || len(c.Events.Found) != 1 {
		t.Errorf("confirmation: %+v, %v; want trusted access, the trail and the enable's event", c, err)
	}
}

// When one mutation fails, the error is its own, retried or not as it
// was, and carries what was applied before it.
func TestAFailedMutationCarriesThoseMadeBeforeIt(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	in.Trail = activities.TrailSettings{Name: "org-trail", Bucket: "org-trail-logs", MultiRegion: true}
	env.Sandbox.SetFaults([]awssandbox.Fault{{Service: "s3", Operation: "PutBucketPolicy", Error: "AccessDenied", Count: 1}})
	_, err := inActivity(t, time.Minute, func(ctx context.Context) (activities.ApplyResult, error) {
		return acts.ApplyMutations(ctx, activities.ApplyInput{TrailInput: in, Mutations: []activities.MutationKind{
			activities.MutateEnableTrustedAccess, activities.MutateCreateRole, activities.MutateBucketPolicy, activities.MutateOrganizationTrail,
		}})
	})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "AccessDenied" || !appErr.NonRetryable() {
		t.Fatalf("error %v; want the bucket policy's non-retryable AccessDenied", err)
	}
	var res activities.ApplyResult
	if err := appErr.Details(&res); err != nil || len(res.Applied) != 2 || res.Applied[0].Kind != activities.MutateEnableTrustedAccess ||
		res.Applied[1].Kind != activities.MutateCreateRole || len(res.Applied[1].Calls) != 1 || res.Failed != activities.MutateBucketPolicy {
		t.Errorf("details %+v, %v; want trusted access and the role, with their calls, and the bucket policy failed", res, err)
	}
}

// An attempt that does not end well (here CreateTrail's response lost as
// often as the AWS SDK tries; a worker that dies is another) loses its
// results with it; the attempt that takes over finds the calls it made in
// CloudTrail, under the change's session, and leaves out its own.
func TestTheCallsOfAnEarlierAttemptAreFoundInCloudTrail(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	in.Trail = activities.TrailSettings{Name: "org-trail", Bucket: "org-trail-logs", MultiRegion: true}
	in.Session = activities.Session{ChangeID: "chg-cut-short", SourceIdentity: "dave"}
	s, err := acts.SurveyOrganization(context.Background(), in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	env.Sandbox.SetFaults([]awssandbox.Fault{{Service: "cloudtrail", Operation: "CreateTrail", Applied: true, Drop: true, Count: 3}})
	var suite testsuite.WorkflowTestSuite
	wenv := suite.NewTestWorkflowEnvironment()
	wenv.RegisterActivity(acts)
	wenv.RegisterWorkflowWithOptions(func(ctx workflow.Context, in activities.ApplyInput) (activities.ApplyResult, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 2},
		})
		var res activities.ApplyResult
		err := workflow.ExecuteActivity(ctx, acts.ApplyMutations, in).Get(ctx, &res)
		return res, err
	}, workflow.RegisterOptions{Name: "apply"})
	wenv.ExecuteWorkflow("apply", activities.ApplyInput{TrailInput: in, Expect: &s.State, Since: time.Now(), Mutations: []activities.MutationKind{
		activities.MutateEnableTrustedAccess, activities.MutateCreateRole, activities.MutateBucketPolicy, activities.MutateOrganizationTrail,
	}})
	var res activities.ApplyResult
	if err := wenv.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := wenv.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, a := range res.Applied {
		for _, c := range a.Calls {
			mine[c.RequestID] = true
		}
	}
	var earlier []string
	for _, c := range res.Earlier {
		earlier = append(earlier, c.Operation)
		if mine[c.RequestID] || c.RequestID == "" || c.Service == "" || c.At.IsZero() {
			t.Errorf("earlier call %+v: want another attempt's, with its service, time and request ID", c)
		}
	}
	for _, op := range []string{"EnableAWSServiceAccess", "CreateServiceLinkedRole", "CreateBucket", "PutBucketPolicy"} {
		if !slices.Contains(earlier, op) {
			t.Errorf("the calls of the earlier attempt: %v; want %s among them", earlier, op)
		}
	}
}
