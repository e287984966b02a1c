package activities_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
)

// callsAre checks a mutation's calls, as operation@region of an event
// source, each with a request ID of its own and the time it was made.
func callsAre(t *testing.T, what string, m activities.Mutation, since time.Time, want ...string) []string {
	t.Helper()
	var got, ids []string
	for _, c := range m.Calls {
		got = append(got, c.Service+" "+c.Operation+"@"+c.Region)
		if c.RequestID == "" || slices.Contains(ids, c.RequestID) {
			t.Errorf("%s: call %+v has no request ID of its own", what, c)
		}
		if c.At.Before(since) || c.At.After(time.Now()) {
			t.Errorf("%s: call %+v made at %s, not during the step", what, c, c.At)
		}
		ids = append(ids, c.RequestID)
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("%s: calls %v, want %v", what, got, want)
	}
	return ids
}

// trailgate's role session in the management account is named after the
// change; every mutation returns the calls it made, with the request IDs
// AWS answered, in the region where CloudTrail logs them (us-east-1 for
// Organizations and IAM, aws.region for the others), and a mutation that
// finds its work done makes none.
func TestTheChangesCallsAreNamedAndCarryRequestIDs(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{Region: "eu-west-1"})
	ctx := context.Background()
	o := env.Orgs[0]
	in.Trail = activities.TrailSettings{Name: "org-trail", Bucket: "org-trail-logs", MultiRegion: true}

	id, err := acts.Preflight(ctx, in.OrgInput)
	if err != nil || !strings.HasSuffix(id.ARN, ":assumed-role/"+awssandbox.DevRoleName+"/trailgate") {
		t.Errorf("outside a change trailgate acts as %s (%v); want the session trailgate", id.ARN, err)
	}
	in.Session = activities.Session{ChangeID: "chg-20261125-42", SourceIdentity: "dave"}
	id, err = acts.Preflight(ctx, in.OrgInput)
	if err != nil || id.ARN != "arn:aws:sts::"+o.ManagementAccountID+":assumed-role/"+awssandbox.DevRoleName+"/tg-chg-20261125-42" {
		t.Errorf("for change chg-20261125-42 trailgate acts as %s (%v)", id.ARN, err)
	}

	var ids []string
	start := time.Now()
	m, err := acts.EnableTrustedAccess(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, callsAre(t, "enable", m, start, "organizations.amazonaws.com EnableAWSServiceAccess@us-east-1")...)
	m, err = acts.EnsureServiceLinkedRole(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, callsAre(t, "role", m, start, "iam.amazonaws.com CreateServiceLinkedRole@us-east-1")...)
	m, err = acts.EnsureTrailBucket(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, callsAre(t, "bucket", m, start, "s3.amazonaws.com CreateBucket@eu-west-1", "s3.amazonaws.com PutBucketPolicy@eu-west-1")...)
	tm, err := inActivity(t, time.Minute, func(ctx context.Context) (activities.TrailMutation, error) {
		return acts.EnsureOrganizationTrail(ctx, in)
	})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, callsAre(t, "trail", tm.Mutation, start, "cloudtrail.amazonaws.com CreateTrail@eu-west-1", "cloudtrail.amazonaws.com StartLogging@eu-west-1")...)
	if !tm.TrailState.IsOrganizationTrail || !tm.TrailState.IsLogging || tm.TrailState.Bucket != "org-trail-logs" {
		t.Errorf("trail created: %+v", tm.TrailState)
	}
	m, err = acts.DisableTrustedAccess(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, callsAre(t, "disable", m, start, "organizations.amazonaws.com DisableAWSServiceAccess@us-east-1")...)
	if slices.Sort(ids); len(slices.Compact(ids)) != 7 {
		t.Errorf("request IDs %v; want seven different ones", ids)
	}

	if m, err := acts.EnsureTrailBucket(ctx, in); err != nil || len(m.Calls) != 0 {
		t.Errorf("bucket again: %+v, %v; want no call", m, err)
	}
	if tm, err := acts.EnsureOrganizationTrail(ctx, in); err != nil || len(tm.Calls) != 0 {
		t.Errorf("trail again: %+v, %v; want no call", tm.Mutation, err)
	}
}
