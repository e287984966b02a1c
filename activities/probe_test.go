package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// probeRole is the role of a member account that its management account
// may assume (OrganizationAccountAccessRole, as Organizations creates it in
// the accounts it creates), created when the sandbox has not.
func probeRole(t *testing.T, env *sandboxtest.Env, org awssandbox.DevOrganization, member string) string {
	t.Helper()
	arn, err := env.Sandbox.CreateRole(awssandbox.RoleSpec{AccountID: member, Name: config.DefaultProbeRoleName, TrustedAccountID: org.ManagementAccountID})
	if err == nil {
		return arn
	}
	got, gerr := iam.NewFromConfig(env.ConfigFor(member)).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(config.DefaultProbeRoleName)})
	if gerr != nil {
		t.Fatalf("create %s in %s: %v", config.DefaultProbeRoleName, member, err)
	}
	return aws.ToString(got.Role.Arn)
}

// From a member account, through the probe role assumed from the
// management account, the organization trail (here one of a single region
// whose home is not aws.region) is visible as an organization trail that
// logs; once trusted access is off, it no longer logs for the member
// account, and the probe says so.
func TestProbeSeesTheOrganizationTrailFromAMemberAccount(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	member := o.MemberAccountIDs[0]
	in.Trail = activities.TrailSettings{Name: "eu-trail", Bucket: "eu-trail-logs"}
	arn := ownTrail(t, env, "eu-west-1", "eu-trail", "eu-trail-logs")
	trustedAccessOn(t, acts, in.OrgInput)
	if _, err := acts.EnsureTrailBucket(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := acts.EnsureOrganizationTrail(ctx, in); err != nil {
		t.Fatal(err)
	}

	if p, err := acts.ProbeMemberAccount(ctx, activities.VerifyInput{OrgInput: in.OrgInput, TrailARNs: []string{arn}}); err != nil || p.AccountID != "" || len(p.Trails) != 0 {
		t.Errorf("probe without a probe role: %+v, %v; want nothing probed", p, err)
	}

	in.ProbeRoleARN = probeRole(t, env, o, member)
	probe := activities.VerifyInput{OrgInput: in.OrgInput, TrailARNs: []string{arn}}
	p, err := acts.ProbeMemberAccount(ctx, probe)
	if err != nil {
		t.Fatal(err)
	}
	if p.AccountID != member || p.RoleARN != in.ProbeRoleARN || p.Checks != 1 || len(p.Trails) != 1 ||
		p.Trails[0].ARN != arn || !p.Trails[0].IsOrganizationTrail || !p.Trails[0].IsLogging {
		t.Errorf("probe from %s: %+v", member, p)
	}

	if _, err := acts.DisableTrustedAccess(ctx, in.OrgInput); err != nil {
		t.Fatal(err)
	}
	_, err = inActivity(t, 2*time.Second, func(ctx context.Context) (activities.MemberProbe, error) {
		return acts.ProbeMemberAccount(ctx, probe)
	})
	if err == nil || !strings.Contains(err.Error(), "trail "+arn+" is not visible as an organization trail in member account "+member) {
		t.Errorf("probe with trusted access off: %v", err)
	}
}

// A probe role the management account cannot assume is a non-retryable
// error that says what to do.
func TestProbeRoleThatCannotBeAssumedSaysWhatToFix(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	in.ProbeRoleARN = "arn:aws:iam::" + env.Orgs[0].MemberAccountIDs[1] + ":role/NoSuchRole"
	_, err := acts.ProbeMemberAccount(context.Background(), activities.VerifyInput{OrgInput: in.OrgInput})
	refusedAs(t, err, activities.ErrProbeRoleRefused, "the probe role "+in.ProbeRoleARN+" cannot be assumed from the management account",
		"create it or fix organizations[].probe_role_name")
}
