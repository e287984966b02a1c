package awssandbox_test

import (
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
)

func TestCallerIdentityAndAssumeRole(t *testing.T) {
	env := awssandbox.StartTest(t, awssandbox.Options{Seed: 1})
	org := env.Orgs[0]
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
	env := awssandbox.StartTest(t, awssandbox.Options{Seed: 2})
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
	env := awssandbox.StartTest(t, awssandbox.Options{Seed: 3, Now: func() time.Time { return clock() }})
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
