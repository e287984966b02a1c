package awssandbox_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

func TestCallerIdentityAndAssumeRole(t *testing.T) {
	env, org := startOrg(t, 1, 0)
	op := newClients(env.OperatorConfig())

	id, err := op.sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *id.Account != env.Operator.ID || *id.Arn != env.Operator.UserARN {
		t.Fatalf("operator identity = %s %s, want %s %s", *id.Account, *id.Arn, env.Operator.ID, env.Operator.UserARN)
	}

	role := assumeRole(t, env, org)
	id, err = role.sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:sts::" + org.ManagementAccountID + ":assumed-role/TrailgateOperator/trailgate"
	if *id.Account != org.ManagementAccountID || *id.Arn != wantARN || !strings.HasSuffix(*id.UserId, ":trailgate") {
		t.Fatalf("assumed identity = %s %s %s, want account %s arn %s", *id.Account, *id.Arn, *id.UserId, org.ManagementAccountID, wantARN)
	}
	// The session acts as the management account.
	desc, err := role.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *desc.Organization.MasterAccountId != org.ManagementAccountID || desc.Organization.FeatureSet != orgtypes.OrganizationFeatureSetAll {
		t.Fatalf("organization = %+v", desc.Organization)
	}

	denied := []struct {
		name string
		c    clients
		in   sts.AssumeRoleInput
	}{
		{"wrong external ID", op, sts.AssumeRoleInput{RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String("s1"), ExternalId: aws.String("wrong-id")}},
		{"no external ID", op, sts.AssumeRoleInput{RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String("s1")}},
		{"untrusted account", accountClients(env, org.MemberAccountIDs[0]), sts.AssumeRoleInput{RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String("s1"), ExternalId: aws.String(org.ExternalID)}},
		{"missing role", op, sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + org.ManagementAccountID + ":role/Nope"), RoleSessionName: aws.String("s1"), ExternalId: aws.String(org.ExternalID)}},
		{"another organization's ID", op, sts.AssumeRoleInput{RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String("s1"), ExternalId: aws.String(env.Orgs[1].ExternalID)}},
	}
	for _, tc := range denied {
		_, err := tc.c.sts.AssumeRole(ctx(), &tc.in)
		wantCode(t, err, "AccessDenied")
		if !strings.Contains(err.Error(), "is not authorized to perform: sts:AssumeRole") {
			t.Errorf("%s: message %v", tc.name, err)
		}
	}

	_, err = op.sts.AssumeRole(ctx(), &sts.AssumeRoleInput{RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String("bad name!"), ExternalId: aws.String(org.ExternalID)})
	wantCode(t, err, "ValidationError")
	_, err = op.sts.AssumeRole(ctx(), &sts.AssumeRoleInput{RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String("s1"), ExternalId: aws.String(org.ExternalID), DurationSeconds: aws.Int32(7200)})
	wantCode(t, err, "ValidationError")
}

func TestAuthenticationFailures(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 2})
	mgmt := env.Account(env.Orgs[0].ManagementAccountID)

	wrongSecret := env.Config(mgmt)
	wrongSecret.Credentials = credentials.NewStaticCredentialsProvider(mgmt.AccessKeyID, "not-the-secret", "")
	bad := newClients(wrongSecret)
	_, err := bad.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "InvalidSignatureException")
	_, err = bad.sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{})
	wantCode(t, err, "SignatureDoesNotMatch")
	_, err = bad.iam.GetRole(ctx(), iamGetRole("TrailgateOperator"))
	wantCode(t, err, "SignatureDoesNotMatch")
	_, err = bad.s3.ListBuckets(ctx(), &s3.ListBucketsInput{})
	wantCode(t, err, "SignatureDoesNotMatch")
	_, err = bad.ct.DescribeTrails(ctx(), ctDescribe())
	wantCode(t, err, "InvalidSignatureException")

	unknown := env.Config(mgmt)
	unknown.Credentials = credentials.NewStaticCredentialsProvider("AKIAUNKNOWNUNKNOWN00", "secret", "")
	un := newClients(unknown)
	_, err = un.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "UnrecognizedClientException")
	_, err = un.sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	_, err = un.s3.ListBuckets(ctx(), &s3.ListBucketsInput{})
	wantCode(t, err, "InvalidAccessKeyId")

	// A session key without its token is not recognised.
	role := assumeRole(t, env, env.Orgs[0])
	creds, err := role.cfg.Credentials.Retrieve(ctx())
	if err != nil {
		t.Fatal(err)
	}
	noToken := env.Config(mgmt)
	noToken.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")
	_, err = newClients(noToken).sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
}

func TestExpiredSessionCredentials(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 3, Now: func() time.Time { return clock() }})
	role := assumeRole(t, env, env.Orgs[0])
	if _, err := role.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	clock = func() time.Time { return now.Add(2 * time.Hour) }
	_, err := role.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "ExpiredTokenException")
	_, err = role.sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredToken")
}

// A GetCallerIdentity request may carry headers of the caller's own among
// the signed ones, as proofs of identity do; STS checks every one, and
// refuses signatures more than 15 minutes from its clock.
func TestCallerIdentityChecksEverySignedHeader(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 4})
	alice := env.Person("alice")
	call := func(signedAt time.Time, change func(*http.Request)) (int, string) {
		t.Helper()
		req := env.CallerIdentityRequest(alice, signedAt, http.Header{"X-Trailgate-Decision": {"decision-1"}})
		if !strings.Contains(req.Header.Get("Authorization"), ";x-trailgate-decision,") {
			t.Fatalf("the decision header is not signed: %s", req.Header.Get("Authorization"))
		}
		if change != nil {
			change(req)
		}
		resp, err := env.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(out)
	}
	now := time.Now()

	if status, out := call(now, nil); status != http.StatusOK || !strings.Contains(out, "<Arn>"+alice.ARN+"</Arn>") {
		t.Fatalf("signed request: %d %s", status, out)
	}
	if status, out := call(now.Add(-14*time.Minute), nil); status != http.StatusOK {
		t.Fatalf("request signed 14 minutes ago: %d %s", status, out)
	}
	refused := []struct {
		name     string
		signedAt time.Time
		change   func(*http.Request)
		want     string
	}{
		{"decision changed after signing", now, func(r *http.Request) { r.Header.Set("X-Trailgate-Decision", "decision-2") }, "does not match"},
		{"decision removed after signing", now, func(r *http.Request) { r.Header.Del("X-Trailgate-Decision") }, "does not match"},
		{"signed 20 minutes ago", now.Add(-20 * time.Minute), nil, "Signature expired"},
		{"signed 20 minutes ahead", now.Add(20 * time.Minute), nil, "Signature not yet current"},
	}
	for _, tc := range refused {
		status, out := call(tc.signedAt, tc.change)
		if status != http.StatusForbidden || !strings.Contains(out, "<Code>SignatureDoesNotMatch</Code>") || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %d %s, want 403 SignatureDoesNotMatch saying %q", tc.name, status, out, tc.want)
		}
	}
}

func TestPeopleProveWhoTheyAreAndNothingMore(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 40})
	if len(env.People) != len(awssandbox.DevPeopleNames) {
		t.Fatalf("people %+v, want %v", env.People, awssandbox.DevPeopleNames)
	}
	keys := map[string]string{}
	for i, name := range awssandbox.DevPeopleNames {
		p := env.People[i]
		wantARN := "arn:aws:iam::" + env.PeopleAccountID + ":user/" + name
		if p.Name != name || p.Profile != name || p.ARN != wantARN {
			t.Fatalf("person %d = %+v, want %s with profile %s and ARN %s", i, p, name, name, wantARN)
		}
		u := env.Person(name)
		if other, ok := keys[u.AccessKeyID]; ok {
			t.Fatalf("%s and %s share access key %s", other, name, u.AccessKeyID)
		}
		keys[u.AccessKeyID] = name
		id := must[*sts.GetCallerIdentityOutput](t)(newClients(env.UserConfig(u)).sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{}))
		if *id.Arn != wantARN || *id.Account != env.PeopleAccountID || !strings.HasPrefix(*id.UserId, "AIDA") {
			t.Fatalf("%s signs as %s %s %s, want %s", name, *id.Arn, *id.Account, *id.UserId, wantARN)
		}
	}
	for _, o := range env.Orgs {
		if o.ManagementAccountID == env.PeopleAccountID || env.PeopleAccountID == env.Operator.ID {
			t.Fatalf("people account %s is not an account of its own", env.PeopleAccountID)
		}
	}

	// A person has no policies: asking who they are is all they may do.
	alice := newClients(env.UserConfig(env.Person("alice")))
	_, err := alice.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	wantCode(t, err, "AccessDeniedException")
	if !strings.Contains(err.Error(), ":user/alice is not authorized to perform: organizations:DescribeOrganization") {
		t.Fatalf("denial names neither alice nor the action: %v", err)
	}
	_, err = alice.iam.GetRole(ctx(), iamGetRole("TrailgateOperator"))
	wantCode(t, err, "AccessDenied")
	_, err = alice.ct.DescribeTrails(ctx(), ctDescribe())
	wantCode(t, err, "AccessDeniedException")
	_, err = alice.s3.ListBuckets(ctx(), &s3.ListBucketsInput{})
	wantCode(t, err, "AccessDenied")
	org := env.Orgs[0]
	_, err = alice.sts.AssumeRole(ctx(), &sts.AssumeRoleInput{RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String("alice"), ExternalId: aws.String(org.ExternalID)})
	wantCode(t, err, "AccessDenied")

	// The account's administrator keeps its powers.
	admin := newClients(env.Config(env.Account(env.PeopleAccountID)))
	must[*s3.ListBucketsOutput](t)(admin.s3.ListBuckets(ctx(), &s3.ListBucketsInput{}))
}

func TestCreateUser(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 41})
	acct := env.Orgs[0].MemberAccountIDs[0]
	u, err := env.Sandbox.CreateUser(acct, "erin")
	if err != nil {
		t.Fatal(err)
	}
	if u.ARN != "arn:aws:iam::"+acct+":user/erin" || u.AccountID != acct || u.AccessKeyID == "" || u.SecretAccessKey == "" {
		t.Fatalf("user %+v", u)
	}
	id := must[*sts.GetCallerIdentityOutput](t)(newClients(env.UserConfig(u)).sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{}))
	if *id.Arn != u.ARN {
		t.Fatalf("erin signs as %s, want %s", *id.Arn, u.ARN)
	}
	if again := must[awssandbox.User](t)(env.Sandbox.User(acct, "erin")); again != u {
		t.Fatalf("User = %+v, want %+v", again, u)
	}

	for _, tc := range []struct{ account, name, want string }{
		{acct, "Erin", "already has a user"},
		{acct, "sandbox-admin", "already has a user"},
		{acct, "no spaces", "user name is"},
		{acct, "", "user name is"},
		{"000000000000", "frank", "does not exist"},
	} {
		if _, err := env.Sandbox.CreateUser(tc.account, tc.name); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CreateUser(%s, %q) = %v, want an error saying %q", tc.account, tc.name, err, tc.want)
		}
	}
}
