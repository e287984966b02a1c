package awssandbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// noRetries makes the SDK report the first failure instead of retrying.
func noRetries(cfg aws.Config) aws.Config {
	cfg.RetryMaxAttempts = 1
	return cfg
}

func TestFaultsMakeTheSDKSeeThrottling(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 16, Faults: []awssandbox.Fault{
		{Service: "organizations", Operation: "EnableAWSServiceAccess", Error: "TooManyRequestsException", Count: 2},
	}})
	org := env.Orgs[0]
	mgmt := newClients(noRetries(env.ConfigFor(org.ManagementAccountID)))
	in := &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}
	for i := 0; i < 2; i++ {
		_, err := mgmt.orgs.EnableAWSServiceAccess(ctx(), in)
		wantType[*orgtypes.TooManyRequestsException](t, err)
	}
	if _, err := mgmt.orgs.EnableAWSServiceAccess(ctx(), in); err != nil {
		t.Fatalf("third call after a count of 2: %v", err)
	}

	// The SDK's own retryer rides over throttling within its attempts.
	env.Sandbox.SetFaults([]awssandbox.Fault{{Service: "cloudtrail", Error: "ThrottlingException", Count: 2}})
	retrying := newClients(env.ConfigFor(org.ManagementAccountID))
	if _, err := retrying.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{}); err != nil {
		t.Fatalf("default retryer over two throttles: %v", err)
	}

	// Each protocol spells the errors its own way.
	env.Sandbox.SetFaults([]awssandbox.Fault{
		{Service: "cloudtrail", Error: "ServiceException"},
		{Service: "iam", Error: "ThrottlingException"},
		{Service: "s3", Error: "ServiceException"},
		{Service: "organizations", Operation: "ListAccounts", AccountID: org.ManagementAccountID, Error: "ConcurrentModificationException"},
		{Service: "organizations", Operation: "DescribeOrganization", Error: "AccessDeniedException"},
	})
	_, err := mgmt.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{})
	wantCode(t, err, "ServiceException")
	_, err = mgmt.iam.GetRole(ctx(), iamGetRole("TrailgateOperator"))
	wantCode(t, err, "Throttling")
	_, err = mgmt.s3.ListBuckets(ctx(), &s3.ListBucketsInput{})
	wantCode(t, err, "InternalError")
	_, err = mgmt.orgs.ListAccounts(ctx(), &organizations.ListAccountsInput{})
	wantType[*orgtypes.ConcurrentModificationException](t, err)
	_, err = mgmt.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	wantType[*orgtypes.AccessDeniedException](t, err)
	// A fault for one account leaves the others alone.
	other := newClients(noRetries(env.ConfigFor(env.Orgs[1].ManagementAccountID)))
	if _, err := other.orgs.ListAccounts(ctx(), &organizations.ListAccountsInput{}); err != nil {
		t.Fatalf("fault scoped to another account fired: %v", err)
	}
}

// failurePattern calls EnableAWSServiceAccess n times against a sandbox
// whose faults fire with probability 0.5 and records which calls failed.
func failurePattern(t *testing.T, seed int64, n int) []bool {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: seed, Faults: []awssandbox.Fault{
		{Service: "organizations", Operation: "EnableAWSServiceAccess", Error: "TooManyRequestsException", Probability: 0.5},
		{Service: "organizations", Latency: time.Millisecond},
	}})
	mgmt := newClients(noRetries(env.ConfigFor(env.Orgs[0].ManagementAccountID)))
	out := make([]bool, n)
	for i := range out {
		_, err := mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)})
		out[i] = err != nil
	}
	return out
}

func TestSameSeedSameFailures(t *testing.T) {
	a, b := failurePattern(t, 42, 32), failurePattern(t, 42, 32)
	failures := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 42 gave %v then %v", a, b)
		}
		if a[i] {
			failures++
		}
	}
	if failures == 0 || failures == len(a) {
		t.Fatalf("probability 0.5 failed %d of %d calls", failures, len(a))
	}
	c := failurePattern(t, 43, 32)
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatalf("seeds 42 and 43 gave the same failures %v", a)
	}
}

func TestFaultAdminEndpoint(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 17})
	url := env.URL + "/_sandbox/faults"
	body := `{"seed": 7, "faults": [{"service":"organizations","operation":"DescribeOrganization","error":"TooManyRequestsException","latency":"1ms","count":1}]}`
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewBufferString(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Seed   int64              `json:"seed"`
		Faults []awssandbox.Fault `json:"faults"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || got.Seed != 7 || len(got.Faults) != 1 || got.Faults[0].Latency != time.Millisecond {
		t.Fatalf("PUT answered %d %+v", resp.StatusCode, got)
	}
	mgmt := newClients(noRetries(env.ConfigFor(env.Orgs[0].ManagementAccountID)))
	_, err = mgmt.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	wantType[*orgtypes.TooManyRequestsException](t, err)
	if _, err := mgmt.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{}); err != nil {
		t.Fatalf("after count 1: %v", err)
	}

	bad, _ := http.NewRequest(http.MethodPut, url, bytes.NewBufferString(`{"faults":[{"service":"ec2","error":"X"}]}`))
	resp, err = http.DefaultClient.Do(bad)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown service accepted with %d", resp.StatusCode)
	}
	del, _ := http.NewRequest(http.MethodDelete, url, nil)
	resp, err = http.DefaultClient.Do(del)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := len(env.Sandbox.Faults()); resp.StatusCode != 200 || n != 0 {
		t.Fatalf("DELETE answered %d, %d faults left", resp.StatusCode, n)
	}

	// PutFaults is the Go side of the same endpoint.
	slow := []awssandbox.Fault{{Service: "cloudtrail", Latency: time.Millisecond}}
	if err := awssandbox.PutFaults(ctx(), env.URL, 9, slow); err != nil {
		t.Fatal(err)
	}
	if got := env.Sandbox.Faults(); len(got) != 1 || got[0].Service != "cloudtrail" || got[0].Latency != time.Millisecond {
		t.Fatalf("PutFaults left %+v", got)
	}
	if err := awssandbox.PutFaults(ctx(), env.URL, 9, []awssandbox.Fault{{Service: "ec2"}}); err == nil {
		t.Fatal("PutFaults of an unknown service succeeded")
	}
}

// mutations are the AWS calls that change what trailgate manages.
var mutations = []string{
	"EnableAWSServiceAccess", "DisableAWSServiceAccess", "CreateServiceLinkedRole",
	"CreateBucket", "PutBucketPolicy", "CreateTrail", "UpdateTrail", "StartLogging",
}

// An applied fault makes the change and then loses its response, as a 500
// or a dropped connection on the way back does: the caller sees a failure,
// AWS shows the change, and a second call meets what the first one made.
func TestAppliedFaultsMakeTheChangeAndLoseTheResponse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault awssandbox.Fault
		lost  func(t *testing.T, op string, err error)
	}{
		{"a 500 after the change", awssandbox.Fault{Error: "ServiceException", Applied: true, Count: 1}, func(t *testing.T, op string, err error) {
			t.Helper()
			var status interface{ HTTPStatusCode() int }
			if !errors.As(err, &status) || status.HTTPStatusCode() != http.StatusInternalServerError {
				t.Fatalf("%s: want an HTTP 500, got %v", op, err)
			}
		}},
		{"a dropped connection after the change", awssandbox.Fault{Drop: true, Applied: true, Count: 1}, func(t *testing.T, op string, err error) {
			t.Helper()
			var sendErr *smithyhttp.RequestSendError
			if !errors.As(err, &sendErr) {
				t.Fatalf("%s: want no response at all, got %T: %v", op, err, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, org := startOrg(t, 18, 0)
			var faults []awssandbox.Fault
			for _, op := range mutations {
				f := tc.fault
				f.Operation = op
				faults = append(faults, f)
			}
			env.Sandbox.SetFaults(faults)
			mgmt := newClients(noRetries(env.ConfigFor(org.ManagementAccountID)))
			const bucket, name = "acme-prod-lost-responses", "org-trail"
			arn := "arn:aws:cloudtrail:us-east-1:" + org.ManagementAccountID + ":trail/" + name

			_, err := mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)})
			tc.lost(t, "EnableAWSServiceAccess", err)
			if !listed(t, mgmt) {
				t.Fatal("EnableAWSServiceAccess lost its response and did not enable trusted access")
			}

			_, err = createServiceLinkedRole(mgmt, ctPrincipal)
			tc.lost(t, "CreateServiceLinkedRole", err)
			wantRole(t, mgmt, "AWSServiceRoleForCloudTrail")
			_, err = createServiceLinkedRole(mgmt, ctPrincipal)
			wantRoleTaken(t, err)

			_, err = mgmt.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
			tc.lost(t, "CreateBucket", err)
			must[*s3.HeadBucketOutput](t)(mgmt.s3.HeadBucket(ctx(), &s3.HeadBucketInput{Bucket: aws.String(bucket)}))
			// In us-east-1, creating one's own bucket again succeeds.
			must[*s3.CreateBucketOutput](t)(mgmt.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}))

			policy := orgTrailPolicy(bucket, org.ManagementAccountID, org.OrganizationID, arn)
			_, err = mgmt.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)})
			tc.lost(t, "PutBucketPolicy", err)
			if got := must[*s3.GetBucketPolicyOutput](t)(mgmt.s3.GetBucketPolicy(ctx(), &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})); aws.ToString(got.Policy) != policy {
				t.Fatalf("PutBucketPolicy lost its response; the policy is %s", aws.ToString(got.Policy))
			}

			create := &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket), IsOrganizationTrail: aws.Bool(true)}
			_, err = mgmt.ct.CreateTrail(ctx(), create)
			tc.lost(t, "CreateTrail", err)
			must[*cloudtrail.GetTrailOutput](t)(mgmt.ct.GetTrail(ctx(), &cloudtrail.GetTrailInput{Name: aws.String(arn)}))
			_, err = mgmt.ct.CreateTrail(ctx(), create)
			wantType[*cttypes.TrailAlreadyExistsException](t, err)

			_, err = mgmt.ct.UpdateTrail(ctx(), &cloudtrail.UpdateTrailInput{Name: aws.String(arn), EnableLogFileValidation: aws.Bool(true)})
			tc.lost(t, "UpdateTrail", err)
			if got := must[*cloudtrail.GetTrailOutput](t)(mgmt.ct.GetTrail(ctx(), &cloudtrail.GetTrailInput{Name: aws.String(arn)})); !aws.ToBool(got.Trail.LogFileValidationEnabled) {
				t.Fatal("UpdateTrail lost its response and did not update the trail")
			}

			_, err = mgmt.ct.StartLogging(ctx(), &cloudtrail.StartLoggingInput{Name: aws.String(arn)})
			tc.lost(t, "StartLogging", err)
			if !trailLogging(t, accountClients(env, org.MemberAccountIDs[0]), arn) {
				t.Fatal("StartLogging lost its response and the trail does not log")
			}

			_, err = mgmt.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)})
			tc.lost(t, "DisableAWSServiceAccess", err)
			if listed(t, mgmt) {
				t.Fatal("DisableAWSServiceAccess lost its response and did not disable trusted access")
			}
		})
	}
}

// listed reports whether trusted access for CloudTrail is listed.
func listed(t *testing.T, c clients) bool {
	t.Helper()
	out := must[*organizations.ListAWSServiceAccessForOrganizationOutput](t)(c.orgs.ListAWSServiceAccessForOrganization(ctx(), &organizations.ListAWSServiceAccessForOrganizationInput{}))
	for _, p := range out.EnabledServicePrincipals {
		if aws.ToString(p.ServicePrincipal) == ctPrincipal {
			return true
		}
	}
	return false
}

func TestAFaultLosesTheResponseOneWay(t *testing.T) {
	for _, f := range []awssandbox.Fault{
		{Error: "ServiceException", Drop: true},
		{Applied: true},
		{Applied: true, Latency: time.Second},
	} {
		if _, err := awssandbox.New(awssandbox.Options{Faults: []awssandbox.Fault{f}}); err == nil {
			t.Errorf("fault %+v accepted", f)
		}
	}
}
