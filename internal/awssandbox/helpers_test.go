package awssandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// clients are the five SDK clients acting as one identity.
type clients struct {
	orgs *organizations.Client
	ct   *cloudtrail.Client
	iam  *iam.Client
	sts  *sts.Client
	s3   *s3.Client
	cfg  aws.Config
}

func newClients(cfg aws.Config) clients {
	return clients{
		orgs: organizations.NewFromConfig(cfg),
		ct:   cloudtrail.NewFromConfig(cfg),
		iam:  iam.NewFromConfig(cfg),
		sts:  sts.NewFromConfig(cfg),
		s3:   s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		cfg:  cfg,
	}
}

// startOrg starts a sandbox seeded with seed and returns it with the dev
// default's i-th organization.
func startOrg(t *testing.T, seed int64, i int) (*sandboxtest.Env, awssandbox.DevOrganization) {
	t.Helper()
	env := sandboxtest.Start(t, awssandbox.Options{Seed: seed})
	return env, env.Orgs[i]
}

func accountClients(env *sandboxtest.Env, id string) clients {
	return newClients(env.ConfigFor(id))
}

// assumeRole returns clients acting through an assumed role session.
func assumeRole(t *testing.T, env *sandboxtest.Env, org awssandbox.DevOrganization) clients {
	t.Helper()
	op := newClients(env.OperatorConfig())
	out, err := op.sts.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(org.RoleARN),
		RoleSessionName: aws.String("trailgate"),
		ExternalId:      aws.String(org.ExternalID),
	})
	if err != nil {
		t.Fatalf("assume %s: %v", org.RoleARN, err)
	}
	cfg := env.OperatorConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	return newClients(cfg)
}

// wantCode fails unless err is an API error with the given code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got success", code)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want API error %s, got %T: %v", code, err, err)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("want error code %s, got %s: %v", code, apiErr.ErrorCode(), err)
	}
}

// wantType fails unless err unwraps to *T.
func wantType[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if err == nil {
		t.Fatalf("want %T, got success", target)
	}
	if !errors.As(err, &target) {
		t.Fatalf("want %T, got %T: %v", target, err, err)
	}
	return target
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func iamGetRole(name string) *iam.GetRoleInput { return &iam.GetRoleInput{RoleName: aws.String(name)} }

// wantRole fails unless c's account has the role name.
func wantRole(t *testing.T, c clients, name string) *iam.GetRoleOutput {
	t.Helper()
	return must[*iam.GetRoleOutput](t)(c.iam.GetRole(ctx(), iamGetRole(name)))
}

// createServiceLinkedRole asks IAM, as c, for the linked role of service.
func createServiceLinkedRole(c clients, service string) (*iam.CreateServiceLinkedRoleOutput, error) {
	return c.iam.CreateServiceLinkedRole(ctx(), &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(service)})
}

// wantRoleTaken fails unless err is IAM refusing to create a service-linked
// role that exists.
func wantRoleTaken(t *testing.T, err error) {
	t.Helper()
	wantCode(t, err, "InvalidInput")
	if !strings.Contains(err.Error(), "has been taken") {
		t.Fatalf("creating the role again: %v", err)
	}
}

// allPages is every item a paginated listing holds: more and next are the
// paginator's HasMorePages and NextPage, items what one page holds.
func allPages[O, Opt, I any](t *testing.T, more func() bool, next func(context.Context, ...Opt) (O, error), items func(O) []I) []I {
	t.Helper()
	var all []I
	for more() {
		all = append(all, items(must[O](t)(next(ctx())))...)
	}
	return all
}

func ctx() context.Context { return context.Background() }

func staticCreds(a awssandbox.Account) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, "")
}
