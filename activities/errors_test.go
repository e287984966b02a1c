package activities

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// The errors here come from the real AWS SDK clients, through the same
// factory the worker uses (the organization's role assumed with its external
// ID), answered by the AWS sandbox with injected faults. The SDK makes one
// attempt, so that each test sees the answer of one request.

// orgClients are the clients of the sandbox's first organization, built on
// base.
func orgClients(t *testing.T, env *sandboxtest.Env, base aws.Config) *awsclient.Clients {
	t.Helper()
	return clientsFor(t, base, sandboxOrg(env))
}

func clientsFor(t *testing.T, base aws.Config, org config.Organization) *awsclient.Clients {
	t.Helper()
	base.RetryMaxAttempts = 1
	c, err := awsclient.NewFactoryFromConfig(base, nil).ForOrganization(context.Background(), org, awsclient.Session{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sandboxOrg(env *sandboxtest.Env) config.Organization {
	o := env.Orgs[0]
	return config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID}
}

// awsCall is one of the calls whose errors the tests classify, one per
// service and protocol, with the service whose faults answer it.
type awsCall struct {
	service string
	make    func(context.Context, *awsclient.Clients) error
}

var (
	createRole = awsCall{"iam", func(ctx context.Context, c *awsclient.Clients) error {
		_, err := c.IAM.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(ServicePrincipal)})
		return err
	}}
	getRole = awsCall{"iam", func(ctx context.Context, c *awsclient.Clients) error {
		_, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ServiceLinkedRoleName)})
		return err
	}}
	enableAccess = awsCall{"organizations", func(ctx context.Context, c *awsclient.Clients) error {
		_, err := c.Organizations.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ServicePrincipal)})
		return err
	}}
	describeOrg = awsCall{"organizations", func(ctx context.Context, c *awsclient.Clients) error {
		_, err := c.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		return err
	}}
	describeTrails = awsCall{"cloudtrail", func(ctx context.Context, c *awsclient.Clients) error {
		_, err := c.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		return err
	}}
	listBuckets = awsCall{"s3", func(ctx context.Context, c *awsclient.Clients) error {
		_, err := c.S3.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	}}
)

// classified runs call and returns the application error that the activity
// border makes of its error.
func classified(t *testing.T, c *awsclient.Clients, call awsCall) *temporal.ApplicationError {
	t.Helper()
	return classifiedCtx(t, context.Background(), c, call)
}

func classifiedCtx(t *testing.T, ctx context.Context, c *awsclient.Clients, call awsCall) *temporal.ApplicationError {
	t.Helper()
	err := call.make(ctx, c)
	if err == nil {
		t.Fatal("the call succeeded; the test needs it to fail")
	}
	var appErr *temporal.ApplicationError
	if !errors.As(awsError("act on organization acme-prod", err), &appErr) {
		t.Fatalf("not an application error: %v", err)
	}
	return appErr
}

func wantMessage(t *testing.T, appErr *temporal.ApplicationError, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(appErr.Error(), p) {
			t.Errorf("message lacks %q: %s", p, appErr.Error())
		}
	}
}

func TestAWSErrorsRetriedOnlyWhenTransient(t *testing.T) {
	endpointFix := "point aws.endpoint_url at AWS or at an AWS implementation that has it"
	// Each case's fault answers its call's service.
	cases := []struct {
		name      string
		call      awsCall
		fault     awssandbox.Fault
		retryable bool
		code      string
		message   []string
	}{
		// An AWS implementation without the API call: no retry can help.
		{name: "IAM call that does not exist", call: createRole,
			fault: awssandbox.Fault{Operation: "CreateServiceLinkedRole", Error: "InvalidAction", Message: "Could not find operation CreateServiceLinkedRole for version 2010-05-08"}, code: "InvalidAction",
			message: []string{"act on organization acme-prod: iam:CreateServiceLinkedRole answered InvalidAction (HTTP 400): Could not find operation CreateServiceLinkedRole", endpointFix}},
		{name: "Organizations call that does not exist", call: enableAccess,
			fault: awssandbox.Fault{Operation: "EnableAWSServiceAccess", Error: "UnknownOperationException"}, code: "UnknownOperationException",
			message: []string{"organizations:EnableAWSServiceAccess answered UnknownOperationException (HTTP 400)", endpointFix}},
		// A client error trailgate knows nothing about fails too.
		{name: "unknown client error", call: describeTrails,
			fault: awssandbox.Fault{Operation: "DescribeTrails", Error: "NeverHeardOfException", Message: "something new"}, code: "NeverHeardOfException",
			message: []string{"cloudtrail:DescribeTrails answered NeverHeardOfException (HTTP 400): something new (not retried)"}},
		{name: "Organizations access denied", call: describeOrg,
			fault: awssandbox.Fault{Operation: "DescribeOrganization", Error: "AccessDeniedException"}, code: "AccessDeniedException",
			message: []string{"organizations:DescribeOrganization answered AccessDeniedException (HTTP 400)", "to fix: grant the caller the Organizations and CloudTrail permissions"}},
		{name: "IAM access denied", call: getRole,
			fault: awssandbox.Fault{Operation: "GetRole", Error: "AccessDeniedException"}, code: "AccessDenied",
			message: []string{"iam:GetRole answered AccessDenied (HTTP 403)", "to fix: check the role's trust policy"}},

		{name: "Organizations throttled", call: enableAccess, fault: awssandbox.Fault{Error: "TooManyRequestsException"}, retryable: true, code: "TooManyRequestsException",
			message: []string{"organizations:EnableAWSServiceAccess answered TooManyRequestsException"}},
		{name: "CloudTrail throttled", call: describeTrails, fault: awssandbox.Fault{Error: "ThrottlingException"}, retryable: true, code: "ThrottlingException"},
		{name: "IAM throttled", call: createRole, fault: awssandbox.Fault{Error: "ThrottlingException"}, retryable: true, code: "Throttling"},
		{name: "S3 slowed down", call: listBuckets, fault: awssandbox.Fault{Error: "ThrottlingException"}, retryable: true, code: "SlowDown"},
		{name: "HTTP 500", call: describeOrg, fault: awssandbox.Fault{Error: "ServiceException"}, retryable: true, code: "ServiceException",
			message: []string{"answered ServiceException (HTTP 500)"}},
		{name: "HTTP 503", call: createRole, fault: awssandbox.Fault{Error: "ServiceUnavailable"}, retryable: true, code: "ServiceUnavailable",
			message: []string{"answered ServiceUnavailable (HTTP 503)"}},
		// The status decides, whatever the code.
		{name: "HTTP 502 with an unknown code", call: describeTrails, fault: awssandbox.Fault{Error: "NeverHeardOfException", Status: 502}, retryable: true, code: "NeverHeardOfException"},
		{name: "Organizations concurrent modification", call: enableAccess, fault: awssandbox.Fault{Error: "ConcurrentModificationException"}, retryable: true, code: "ConcurrentModificationException"},
		{name: "IAM concurrent modification", call: createRole, fault: awssandbox.Fault{Error: "ConcurrentModificationException"}, retryable: true, code: "ConcurrentModification"},
		{name: "S3 conflicting operation", call: listBuckets, fault: awssandbox.Fault{Error: "ConcurrentModificationException"}, retryable: true, code: "OperationAborted"},
	}
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 31})
	c := orgClients(t, env, env.OperatorConfig())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fault := tc.fault
			fault.Service = tc.call.service
			env.Sandbox.SetFaults([]awssandbox.Fault{fault})
			appErr := classified(t, c, tc.call)
			if appErr.NonRetryable() == tc.retryable {
				t.Errorf("retryable %v, want %v: %v", !appErr.NonRetryable(), tc.retryable, appErr)
			}
			if appErr.Type() != tc.code {
				t.Errorf("type %q, want %q", appErr.Type(), tc.code)
			}
			wantMessage(t, appErr, tc.message...)
			if tc.retryable && strings.Contains(appErr.Error(), "to fix:") {
				t.Errorf("a retryable error tells the user to fix something: %v", appErr)
			}
		})
	}
}

// A wrong external ID fails in sts:AssumeRole, on behalf of the call that
// needed the credentials: the message names the call that answered.
func TestAssumeRoleDeniedNamesAssumeRole(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 32})
	org := sandboxOrg(env)
	org.ExternalID = "not-the-external-id"
	appErr := classified(t, clientsFor(t, env.OperatorConfig(), org), describeOrg)
	if !appErr.NonRetryable() || appErr.Type() != "AccessDenied" {
		t.Fatalf("want a non-retryable AccessDenied, got %v (non-retryable %v)", appErr, appErr.NonRetryable())
	}
	wantMessage(t, appErr, "sts:AssumeRole (on behalf of organizations:DescribeOrganization) answered AccessDenied (HTTP 403)",
		"to fix: check the role's trust policy, its external ID")
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := "http://" + l.Addr().String()
	l.Close()
	// The management account's own credentials: no role to assume first.
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 33})
	org := env.Orgs[0]
	cfg := env.ConfigFor(org.ManagementAccountID)
	cfg.BaseEndpoint = aws.String(nowhere)
	cfg.HTTPClient = &http.Client{}
	c := clientsFor(t, cfg, config.Organization{Name: org.Name, ManagementAccountID: org.ManagementAccountID})
	appErr := classified(t, c, createRole)
	if appErr.NonRetryable() || appErr.Type() != "AWSTransportError" {
		t.Fatalf("want a retryable AWSTransportError, got %v (non-retryable %v, type %s)", appErr, appErr.NonRetryable(), appErr.Type())
	}
	wantMessage(t, appErr, "iam:CreateServiceLinkedRole", "connection refused")
}

// Canceled calls and calls out of time are Temporal's to retry or not.
func TestCanceledAndTimedOutCallsAreRetried(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 34, Faults: []awssandbox.Fault{
		{Service: "cloudtrail", Latency: time.Minute},
	}})
	c := orgClients(t, env, env.OperatorConfig())

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if appErr := classifiedCtx(t, canceled, c, describeTrails); appErr.NonRetryable() {
		t.Errorf("a canceled call is not retried: %v", appErr)
	}
	late, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if appErr := classifiedCtx(t, late, c, describeTrails); appErr.NonRetryable() {
		t.Errorf("a call out of time is not retried: %v", appErr)
	}
}

// withHeader serves the sandbox with a response header set, as a proxy or
// another AWS implementation may.
func withHeader(t *testing.T, env *sandboxtest.Env, name string, value func() string) aws.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(name, value())
		env.Sandbox.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := env.OperatorConfig()
	cfg.BaseEndpoint = aws.String(srv.URL)
	cfg.HTTPClient = srv.Client()
	return cfg
}

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 35, Faults: []awssandbox.Fault{
		{Service: "organizations", Error: "TooManyRequestsException"},
	}})
	c := orgClients(t, env, withHeader(t, env, "Retry-After", func() string { return "7" }))
	appErr := classified(t, c, enableAccess)
	if appErr.NonRetryable() || appErr.NextRetryDelay() != 7*time.Second {
		t.Fatalf("want a retry after 7s, got non-retryable %v, delay %v: %v", appErr.NonRetryable(), appErr.NextRetryDelay(), appErr)
	}
}

// A signature refused by a server whose clock is an hour off is the SDK's
// clock skew, retried; with the clocks in step, it is a wrong secret key.
func TestSignatureRefusedUnderClockSkewIsRetried(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 36, Faults: []awssandbox.Fault{
		{Service: "iam", Operation: "GetRole", Error: "SignatureDoesNotMatch", Status: 403},
	}})
	skewed := orgClients(t, env, withHeader(t, env, "Date", func() string {
		return time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	}))
	if appErr := classified(t, skewed, getRole); appErr.NonRetryable() {
		t.Errorf("clock skew is not retried: %v", appErr)
	}
	inStep := orgClients(t, env, env.OperatorConfig())
	appErr := classified(t, inStep, getRole)
	if !appErr.NonRetryable() {
		t.Errorf("a refused signature is retried: %v", appErr)
	}
	wantMessage(t, appErr, "iam:GetRole answered SignatureDoesNotMatch (HTTP 403)", "to fix: the secret key is wrong")
}
