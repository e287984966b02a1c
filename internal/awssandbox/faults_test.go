package awssandbox_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailgate/trailgate/internal/awssandbox"
)

// noRetries makes the SDK report the first failure instead of retrying.
func noRetries(cfg aws.Config) aws.Config {
	cfg.RetryMaxAttempts = 1
	return cfg
}

func TestFaultsMakeTheSDKSeeThrottling(t *testing.T) {
	env := awssandbox.StartTest(t, awssandbox.Options{Seed: 16, Faults: []awssandbox.Fault{
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
	_, err = mgmt.iam.GetRole(ctx(), &iam.GetRoleInput{RoleName: aws.String("TrailgateOperator")})
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
	env := awssandbox.StartTest(t, awssandbox.Options{Seed: seed, Faults: []awssandbox.Fault{
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
	env := awssandbox.StartTest(t, awssandbox.Options{Seed: 17})
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
}
