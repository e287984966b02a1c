package activities_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"go.temporal.io/sdk/temporal"

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

// CloudTrail's event history shows the change's calls under its session
// name, with the requester as source identity: FindEvents links each call
// to its event by request ID, and leaves out calls it cannot find,
// including another change's.
func TestEventsOfTheChangesCallsAreFoundByRequestID(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	in.Trail.DelegatedAdministrators = []string{env.Orgs[0].MemberAccountIDs[0]}

	if got, err := acts.FindEvents(ctx, activities.EventsInput{OrgInput: in.OrgInput}); err != nil || len(got.Found) != 0 || len(got.Missing) != 0 {
		t.Errorf("events of no calls: %+v, %v", got, err)
	}

	other := in.OrgInput
	other.Session = activities.Session{ChangeID: "chg-other", SourceIdentity: "erin"}
	byOther, err := acts.EnableTrustedAccess(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	in.Session = activities.Session{ChangeID: "chg-events", SourceIdentity: "dave"}
	var calls []activities.Call
	for _, step := range []func(context.Context, activities.OrgInput) (activities.Mutation, error){
		acts.EnableTrustedAccess, acts.EnsureServiceLinkedRole, acts.RegisterDelegatedAdministrators,
	} {
		m, err := step(ctx, in.OrgInput)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, m.Calls...)
	}
	if len(calls) != 3 {
		t.Fatalf("calls %+v; want three", calls)
	}
	unknown := activities.Call{Operation: "StartLogging", Service: "cloudtrail.amazonaws.com", Region: "eu-west-1", At: time.Now().UTC(), RequestID: "00000000-0000-0000-0000-000000000000"}
	asked := append(append(append([]activities.Call{}, calls...), byOther.Calls...), unknown)

	got, err := acts.FindEvents(ctx, activities.EventsInput{OrgInput: in.OrgInput, Calls: asked})
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == "UnknownOperationException" {
		t.Skip("the sandbox does not answer LookupEvents yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Found) != len(calls) {
		t.Fatalf("found %+v; want the events of %+v", got.Found, calls)
	}
	for i, e := range got.Found {
		if e.Call != calls[i] || e.EventID == "" || e.Username != "tg-chg-events" || e.SourceIdentity != "dave" {
			t.Errorf("event %+v; want the event of %+v by tg-chg-events, source identity dave", e, calls[i])
		}
	}
	if len(got.Missing) != 2 || got.Missing[0] != byOther.Calls[0] || got.Missing[1] != unknown {
		t.Errorf("missing %+v; want another change's call and a call CloudTrail does not know", got.Missing)
	}
}

// The record says whether trailgate created CloudTrail's service-linked
// role: it does once, in the management account, and says so; after that
// the role is there, the organization's state shows it, and trailgate says
// it created nothing.
func TestServiceLinkedRoleIsCreatedOnceAndSaysSo(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	iamc := iam.NewFromConfig(env.ConfigFor(o.ManagementAccountID))
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(activities.ServiceLinkedRoleName)}); err == nil {
		t.Fatalf("the management account of %s has %s before trailgate ran", o.Name, activities.ServiceLinkedRoleName)
	}
	if st, err := acts.ReadState(ctx, in.OrgInput); err != nil || st.ServiceLinkedRole {
		t.Fatalf("state before: role %v (%v); want no role", st.ServiceLinkedRole, err)
	}

	m, err := acts.EnsureServiceLinkedRole(ctx, in.OrgInput)
	if err != nil || len(m.Calls) != 1 || m.Calls[0].Operation != "CreateServiceLinkedRole" || m.Calls[0].Service != "iam.amazonaws.com" || m.Calls[0].RequestID == "" {
		t.Fatalf("first ensure: %+v, %v; want the role created by one call with its request ID", m, err)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(activities.ServiceLinkedRoleName)}); err != nil {
		t.Fatalf("the role trailgate said it created is not there: %v", err)
	}
	if st, err := acts.ReadState(ctx, in.OrgInput); err != nil || !st.ServiceLinkedRole {
		t.Errorf("state after: role %v (%v); want the role trailgate created", st.ServiceLinkedRole, err)
	}
	m, err = acts.EnsureServiceLinkedRole(ctx, in.OrgInput)
	if err != nil || len(m.Calls) != 0 {
		t.Errorf("second ensure: %+v, %v; want the existing role kept, with no call", m, err)
	}
}

// A management account that refuses the role fails the step, named with the
// organization and its management account, and reports no role created.
func TestServiceLinkedRoleRefusedIsAnErrorNotACreation(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{Faults: []awssandbox.Fault{
		{Service: "iam", Operation: "CreateServiceLinkedRole", Error: "AccessDeniedException"},
	}})
	o := env.Orgs[0]
	m, err := acts.EnsureServiceLinkedRole(context.Background(), in.OrgInput)
	if len(m.Calls) != 0 {
		t.Errorf("a refused role is reported as created: %+v", m)
	}
	refusedAs(t, err, "AccessDenied",
		"create role "+activities.ServiceLinkedRoleName+" in organization "+o.Name+" ("+o.ManagementAccountID+")",
		"iam:CreateServiceLinkedRole answered AccessDenied")
}

// A role created between trailgate's read and its create (a retry after a
// lost answer, or a person) is convergence: the refused call is recorded
// with its request ID, as CloudTrail logs it too.
func TestServiceLinkedRoleTakenMeanwhileConvergesAndIsRecorded(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	if _, err := acts.EnsureServiceLinkedRole(ctx, in.OrgInput); err != nil {
		t.Fatal(err)
	}
	env.Sandbox.SetFaults([]awssandbox.Fault{{Service: "iam", Operation: "GetRole", Error: "NoSuchEntity", Count: 1}})
	m, err := acts.EnsureServiceLinkedRole(ctx, in.OrgInput)
	if err != nil || len(m.Calls) != 1 || m.Calls[0].Operation != "CreateServiceLinkedRole" || m.Calls[0].RequestID == "" {
		t.Errorf("a role that was taken meanwhile: %+v, %v; want the refused create recorded with its request ID", m, err)
	}
}
