package awssandbox_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

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
