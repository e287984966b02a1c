package activities_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// ownTrail creates, as the management account, a trail of its own (not an
// organization trail, not logging) in region, logging to bucket.
func ownTrail(t *testing.T, env *sandboxtest.Env, region, name, bucket string) string {
	t.Helper()
	ctx := context.Background()
	o := env.Orgs[0]
	cfg := env.ConfigFor(o.ManagementAccountID)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	arn := fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", region, o.ManagementAccountID, name)
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
{"Sid":"AclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::%[1]s","Condition":{"StringEquals":{"aws:SourceArn":%[3]q}}},
{"Sid":"Write","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::%[1]s/AWSLogs/%[2]s/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":%[3]q}}}]}`,
		bucket, o.ManagementAccountID, arn)
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	cfg.Region = region
	out, err := cloudtrail.NewFromConfig(cfg).CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.TrailARN) != arn {
		t.Fatalf("trail %s created as %s", arn, aws.ToString(out.TrailARN))
	}
	return arn
}

// trailAsAWSSees reads a trail in its home region as the management
// account, without trailgate.
func trailAsAWSSees(t *testing.T, env *sandboxtest.Env, region, arn string) (bucket string, org bool) {
	t.Helper()
	cfg := env.ConfigFor(env.Orgs[0].ManagementAccountID)
	cfg.Region = region
	out, err := cloudtrail.NewFromConfig(cfg).GetTrail(context.Background(), &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Trail.S3BucketName), aws.ToBool(out.Trail.IsOrganizationTrail)
}

// A trail whose home region is not aws.region is found by name, read,
// converted and started in its home region, its bucket given statements
// for its own ARN, listed by the inventory and verified there.
func TestTrailHomedInAnotherRegionIsFoundConvertedAndVerified(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{})
	ctx := context.Background()
	const bucket = "eu-trail-logs"
	acts, in := managing(env, activities.TrailSettings{Name: "eu-trail", Bucket: bucket, MultiRegion: false})
	arn := ownTrail(t, env, "eu-west-1", "eu-trail", bucket)
	trustedAccessOn(t, acts, in.OrgInput)

	st, err := acts.ReadState(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	if st.Trail == nil || st.Trail.ARN != arn || st.Trail.HomeRegion != "eu-west-1" || st.Trail.Bucket != bucket || st.Trail.IsOrganizationTrail || st.BucketPolicyReady {
		t.Fatalf("state of a trail homed in eu-west-1: trail %+v, bucket policy ready %v", st.Trail, st.BucketPolicyReady)
	}

	if inv, err := acts.TakeInventory(ctx, in.OrgInput); err != nil || len(inv.OrganizationTrails) != 0 {
		t.Errorf("inventory before the conversion: %+v, %v; want no organization trail", inv.OrganizationTrails, err)
	}

	m, err := acts.EnsureTrailBucket(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Calls) != 1 || m.Calls[0].Operation != "PutBucketPolicy" || m.Calls[0].Service != "s3.amazonaws.com" || m.Calls[0].RequestID == "" {
		t.Errorf("bucket mutation %+v; want one PutBucketPolicy with its request ID", m)
	}
	// The sandbox, as CloudTrail, refuses to convert the trail unless the
	// bucket's statements name the trail's own ARN (eu-west-1).
	tm, err := acts.EnsureOrganizationTrail(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if tm.TrailState.ARN != arn || !tm.TrailState.IsOrganizationTrail || !tm.TrailState.IsLogging || tm.TrailState.Bucket != bucket {
		t.Errorf("trail after conversion: %+v", tm.TrailState)
	}
	var ops []string
	for _, c := range tm.Calls {
		ops = append(ops, c.Operation+"@"+c.Region)
		if c.RequestID == "" || c.Service != "cloudtrail.amazonaws.com" || c.At.IsZero() {
			t.Errorf("call %+v lacks its request ID, event source or time", c)
		}
	}
	if strings.Join(ops, " ") != "UpdateTrail@eu-west-1 StartLogging@eu-west-1" {
		t.Errorf("calls %v; want UpdateTrail and StartLogging in the trail's home region", ops)
	}
	if b, org := trailAsAWSSees(t, env, "eu-west-1", arn); b != bucket || !org {
		t.Errorf("AWS shows the trail logging to %s, organization trail %v", b, org)
	}
	if st, err := acts.ReadState(ctx, in.OrgInput); err != nil || !st.BucketPolicyReady || st.Trail == nil || !st.Trail.IsLogging {
		t.Errorf("state after: %+v, %v; want the trail logging and its bucket ready", st, err)
	}

	inv, err := acts.TakeInventory(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.OrganizationTrails) != 1 || inv.OrganizationTrails[0].ARN != arn || inv.OrganizationTrails[0].HomeRegion != "eu-west-1" ||
		!inv.OrganizationTrails[0].IsLogging || inv.OrganizationTrails[0].Bucket != bucket {
		t.Errorf("inventory trails %+v; want %s, logging, homed in eu-west-1", inv.OrganizationTrails, arn)
	}

	e, err := inActivity(t, 5*time.Second, func(ctx context.Context) (activities.Evidence, error) {
		return acts.VerifyEnabled(ctx, activities.VerifyInput{OrgInput: in.OrgInput, TrailARNs: []string{arn}})
	})
	if err != nil || len(e.Trails) != 1 || !e.Trails[0].IsOrganizationTrail || !e.Trails[0].IsLogging {
		t.Errorf("verification: %+v, %v", e, err)
	}
}

// Converting a trail keeps the bucket it logs to; when trail.bucket names
// another, the bucket step and the trail step both stop with a message
// that says what to do, and nothing changes: no bucket is created, the
// trail still logs where it did, for the management account alone.
func TestConversionNeverRepointsATrail(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{})
	ctx := context.Background()
	arn := ownTrail(t, env, "us-east-1", "legacy", "legacy-logs")
	acts, in := managing(env, activities.TrailSettings{Name: "legacy", Bucket: "configured-logs", MultiRegion: true})
	trustedAccessOn(t, acts, in.OrgInput)

	says := []string{"trail " + arn, "logs to bucket legacy-logs", "trail.bucket names configured-logs", "set trail.bucket to legacy-logs, or move the trail yourself"}
	_, err := acts.EnsureTrailBucket(ctx, in)
	refusedAs(t, err, activities.ErrBucketMismatch, says...)
	_, err = acts.EnsureOrganizationTrail(ctx, in)
	refusedAs(t, err, activities.ErrBucketMismatch, says...)
	s3c := s3.NewFromConfig(env.ConfigFor(env.Orgs[0].ManagementAccountID), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("configured-logs")}); err == nil {
		t.Error("a refused conversion created the configured bucket")
	}
	if b, org := trailAsAWSSees(t, env, "us-east-1", arn); b != "legacy-logs" || org {
		t.Errorf("after a refused conversion the trail logs to %s, organization trail %v", b, org)
	}

	// With trail.bucket set to the trail's own bucket, the conversion goes
	// ahead and the logs stay where they are.
	in.Trail.Bucket = "legacy-logs"
	if _, err := acts.EnsureTrailBucket(ctx, in); err != nil {
		t.Fatal(err)
	}
	tm, err := acts.EnsureOrganizationTrail(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if b, org := trailAsAWSSees(t, env, "us-east-1", arn); b != "legacy-logs" || !org || tm.TrailState.Bucket != "legacy-logs" {
		t.Errorf("converted trail logs to %s (trailgate says %s), organization trail %v", b, tm.TrailState.Bucket, org)
	}
}

// The inventory reads organization event data stores in every region of
// aws.regions and aws.region, and skips, saying so, a region the account
// has not enabled; in aws.region itself the same answer is an error.
func TestInventoryReadsEveryEnabledRegion(t *testing.T) {
	// An opt-in region that is not enabled does not know the credentials:
	// CloudTrail answers UnrecognizedClientException there. ap-east-1 is
	// asked first.
	notEnabled := awssandbox.Fault{Service: "cloudtrail", Operation: "ListEventDataStores", Error: "UnrecognizedClientException",
		Message: "The security token included in the request is invalid.", Count: 1}
	env := sandboxtest.Start(t, awssandbox.Options{Faults: []awssandbox.Fault{notEnabled}})
	ctx := context.Background()
	acts, in := managing(env, activities.TrailSettings{}, "ap-east-1", "eu-west-1")
	trustedAccessOn(t, acts, in.OrgInput)
	cfg := env.ConfigFor(env.Orgs[0].ManagementAccountID)
	cfg.Region = "eu-west-1"
	store, err := cloudtrail.NewFromConfig(cfg).CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("eu-store"), OrganizationEnabled: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := acts.TakeInventory(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(inv.EventDataStores, " ") != aws.ToString(store.EventDataStoreArn) {
		t.Errorf("event data stores %v; want the one in eu-west-1", inv.EventDataStores)
	}
	if strings.Join(inv.Regions, " ") != "eu-west-1 us-east-1" || strings.Join(inv.SkippedRegions, " ") != "ap-east-1" {
		t.Errorf("regions read %v, skipped %v; want eu-west-1 and us-east-1 read, ap-east-1 skipped", inv.Regions, inv.SkippedRegions)
	}

	env.Sandbox.SetFaults([]awssandbox.Fault{notEnabled})
	acts, in = managing(env, activities.TrailSettings{}, "us-east-1", "eu-west-1")
	_, err = acts.TakeInventory(ctx, in.OrgInput)
	refusedAs(t, err, "UnrecognizedClientException", "list event data stores of organization "+env.Orgs[0].Name, "in us-east-1")
}

// Where single-region trails of several regions share the managed trail's
// name, the managed one is that of aws.region.
func TestTheManagedTrailIsThatOfTheHomeRegionAmongNamesakes(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{})
	ownTrail(t, env, "ap-southeast-2", "namesake", "namesake-ap")
	home := ownTrail(t, env, "us-east-1", "namesake", "namesake-us")
	acts, in := managing(env, activities.TrailSettings{Name: "namesake", Bucket: "namesake-us"})
	st, err := acts.ReadState(context.Background(), in.OrgInput)
	if err != nil || st.Trail == nil || st.Trail.ARN != home {
		t.Errorf("managed trail %+v, %v; want %s", st.Trail, err, home)
	}
}
