package awssandbox_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// assumeAs assumes org's role from the operator account as trailgate does,
// with a session name and, when not empty, a source identity.
func assumeAs(t *testing.T, env *sandboxtest.Env, org awssandbox.DevOrganization, session, sourceIdentity string) clients {
	t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String(session), ExternalId: aws.String(org.ExternalID)}
	if sourceIdentity != "" {
		in.SourceIdentity = aws.String(sourceIdentity)
	}
	out, err := newClients(env.OperatorConfig()).sts.AssumeRole(ctx(), in)
	if err != nil {
		t.Fatalf("assume %s as %s (source identity %q): %v", org.RoleARN, session, sourceIdentity, err)
	}
	if got := aws.ToString(out.SourceIdentity); got != sourceIdentity {
		t.Fatalf("AssumeRole answered source identity %q, want %q", got, sourceIdentity)
	}
	return sessionClients(env.OperatorConfig(), out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
}

func sessionClients(base aws.Config, id, secret, token *string) clients {
	cfg := base.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*id, *secret, *token)
	return newClients(cfg)
}

// record is the part of a CloudTrailEvent the tests read.
type record struct {
	EventName    string `json:"eventName"`
	EventSource  string `json:"eventSource"`
	AWSRegion    string `json:"awsRegion"`
	RequestID    string `json:"requestID"`
	EventID      string `json:"eventID"`
	ErrorCode    string `json:"errorCode"`
	ReadOnly     bool   `json:"readOnly"`
	EventType    string `json:"eventType"`
	Recipient    string `json:"recipientAccountId"`
	UserIdentity struct {
		Type           string `json:"type"`
		ARN            string `json:"arn"`
		AccountID      string `json:"accountId"`
		AccessKeyID    string `json:"accessKeyId"`
		SessionContext struct {
			SessionIssuer struct {
				Type     string `json:"type"`
				ARN      string `json:"arn"`
				UserName string `json:"userName"`
			} `json:"sessionIssuer"`
			SourceIdentity string `json:"sourceIdentity"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	RequestParameters map[string]any `json:"requestParameters"`
}

func decodeRecord(t *testing.T, e cttypes.Event) record {
	t.Helper()
	var r record
	if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &r); err != nil {
		t.Fatalf("CloudTrailEvent of %s is not JSON: %v\n%s", aws.ToString(e.EventName), err, aws.ToString(e.CloudTrailEvent))
	}
	return r
}

func lookup(t *testing.T, c clients, key cttypes.LookupAttributeKey, value string) []cttypes.Event {
	t.Helper()
	out, err := c.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: key, AttributeValue: aws.String(value)}},
	})
	if err != nil {
		t.Fatalf("LookupEvents %s=%s: %v", key, value, err)
	}
	return out.Events
}

// TestLookupEventsNamesSessionAndSourceIdentity: a call made through a
// session named after a change and carrying the requester as its source
// identity shows in CloudTrail's event history under that name, with the
// source identity and the request ID the caller saw.
func TestLookupEventsNamesSessionAndSourceIdentity(t *testing.T) {
	env, org := startOrg(t, 31, 0)
	tg := assumeAs(t, env, org, "tg-chg-123", "alice")

	who := must[*sts.GetCallerIdentityOutput](t)(tg.sts.GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{}))
	if want := "arn:aws:sts::" + org.ManagementAccountID + ":assumed-role/TrailgateOperator/tg-chg-123"; aws.ToString(who.Arn) != want {
		t.Fatalf("session ARN %s, want %s", aws.ToString(who.Arn), want)
	}
	enabled := must[*organizations.EnableAWSServiceAccessOutput](t)(tg.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	requestID, ok := awsmiddleware.GetRequestIDMetadata(enabled.ResultMetadata)
	if !ok || requestID == "" {
		t.Fatal("the SDK saw no request ID")
	}
	// A refused call is recorded too, with its error.
	_, err := tg.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String("config.amazonaws.com")})
	var refused *awshttp.ResponseError
	if !errors.As(err, &refused) {
		t.Fatalf("enabling config's trusted access: want a refusal, got %v", err)
	}

	events := lookup(t, tg, cttypes.LookupAttributeKeyUsername, "tg-chg-123")
	var found, failed *cttypes.Event
	for i, e := range events {
		if aws.ToString(e.Username) != "tg-chg-123" {
			t.Errorf("lookup by Username tg-chg-123 found %s by %s", aws.ToString(e.EventName), aws.ToString(e.Username))
		}
		switch r := decodeRecord(t, e); r.RequestID {
		case requestID:
			found = &events[i]
		case refused.ServiceRequestID():
			failed = &events[i]
		}
	}
	if found == nil {
		t.Fatalf("no event has request ID %s among %d events of tg-chg-123", requestID, len(events))
	}
	r := decodeRecord(t, *found)
	if aws.ToString(found.EventName) != "EnableAWSServiceAccess" || aws.ToString(found.EventSource) != "organizations.amazonaws.com" ||
		aws.ToString(found.ReadOnly) != "false" || r.ReadOnly || r.EventType != "AwsApiCall" || r.AWSRegion != "us-east-1" {
		t.Errorf("event %+v record %+v", *found, r)
	}
	if r.UserIdentity.Type != "AssumedRole" || r.UserIdentity.ARN != aws.ToString(who.Arn) || r.UserIdentity.AccountID != org.ManagementAccountID ||
		r.UserIdentity.SessionContext.SessionIssuer.ARN != org.RoleARN || r.UserIdentity.SessionContext.SessionIssuer.UserName != "TrailgateOperator" ||
		r.Recipient != org.ManagementAccountID || r.UserIdentity.AccessKeyID != aws.ToString(found.AccessKeyId) {
		t.Errorf("user identity %+v, recipient %s", r.UserIdentity, r.Recipient)
	}
	if r.UserIdentity.SessionContext.SourceIdentity != "alice" {
		t.Errorf("sessionContext.sourceIdentity %q, want alice", r.UserIdentity.SessionContext.SourceIdentity)
	}
	if r.RequestParameters["servicePrincipal"] != ctPrincipal || r.EventID != aws.ToString(found.EventId) {
		t.Errorf("request parameters %v, event ID %s of %s", r.RequestParameters, r.EventID, aws.ToString(found.EventId))
	}
	if failed == nil {
		t.Fatalf("the refused call (request ID %s) is not recorded", refused.ServiceRequestID())
	}
	if r := decodeRecord(t, *failed); r.ErrorCode != "AccessDeniedException" || r.UserIdentity.SessionContext.SourceIdentity != "alice" {
		t.Errorf("refused call's record %+v", r)
	}

	// Looking the event up by its ID finds it alone.
	byID := lookup(t, tg, cttypes.LookupAttributeKeyEventId, aws.ToString(found.EventId))
	if len(byID) != 1 || aws.ToString(byID[0].EventId) != aws.ToString(found.EventId) {
		t.Errorf("lookup by EventId found %d events", len(byID))
	}
}

// TestLookupEvents covers the history's scope (the caller's account and
// region), its order, filters and pages, and LookupEvents' refusals.
func TestLookupEvents(t *testing.T) {
	env, org := startOrg(t, 32, 1)
	mgmt := accountClients(env, org.ManagementAccountID)
	for range 3 {
		must[*organizations.DescribeOrganizationOutput](t)(mgmt.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{}))
	}
	must[*cloudtrail.DescribeTrailsOutput](t)(mgmt.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{}))
	west := mgmt.cfg.Copy()
	west.Region = "eu-west-1"
	must[*cloudtrail.DescribeTrailsOutput](t)(newClients(west).ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{}))

	all := must[*cloudtrail.LookupEventsOutput](t)(mgmt.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{}))
	var names []string
	for _, e := range all.Events {
		// A LookupEvents the SDK retried left its first attempt's event.
		if aws.ToString(e.EventName) != "LookupEvents" {
			names = append(names, aws.ToString(e.EventName))
		}
	}
	// Newest first; the eu-west-1 call is in eu-west-1's history only.
	if got := strings.Join(names, " "); got != "DescribeTrails DescribeOrganization DescribeOrganization DescribeOrganization" {
		t.Fatalf("events in us-east-1: %s", got)
	}
	for i := 1; i < len(all.Events); i++ {
		if all.Events[i].EventTime.After(*all.Events[i-1].EventTime) {
			t.Errorf("event %d is newer than event %d", i, i-1)
		}
	}
	westEvents := must[*cloudtrail.LookupEventsOutput](t)(newClients(west).ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{}))
	if len(westEvents.Events) != 1 || aws.ToString(westEvents.Events[0].EventName) != "DescribeTrails" {
		t.Errorf("eu-west-1 history: %+v", westEvents.Events)
	}
	// Another account sees none of them.
	other := accountClients(env, org.MemberAccountIDs[0])
	if got := must[*cloudtrail.LookupEventsOutput](t)(other.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{})); len(got.Events) != 0 {
		t.Errorf("a member account sees %d events of its management account", len(got.Events))
	}

	// Pages: MaxResults and NextToken walk the same list.
	var paged []string
	p := cloudtrail.NewLookupEventsPaginator(mgmt.ct, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("DescribeOrganization")}},
		MaxResults:       aws.Int32(2),
	})
	for _, e := range allPages(t, p.HasMorePages, p.NextPage, func(o *cloudtrail.LookupEventsOutput) []cttypes.Event { return o.Events }) {
		paged = append(paged, aws.ToString(e.EventId))
	}
	newest := slices.IndexFunc(all.Events, func(e cttypes.Event) bool { return aws.ToString(e.EventName) == "DescribeOrganization" })
	if len(paged) != 3 || newest < 0 || paged[0] != aws.ToString(all.Events[newest].EventId) {
		t.Errorf("paged by 2: %v", paged)
	}
	if got := lookup(t, mgmt, cttypes.LookupAttributeKeyReadOnly, "false"); len(got) != 0 {
		t.Errorf("%d write events among reads", len(got))
	}
	if got := lookup(t, mgmt, cttypes.LookupAttributeKeyEventSource, "cloudtrail.amazonaws.com"); len(got) < 2 {
		t.Errorf("events of cloudtrail.amazonaws.com: %d, want the DescribeTrails and the LookupEvents calls", len(got))
	}
	future := time.Now().Add(time.Hour)
	none := must[*cloudtrail.LookupEventsOutput](t)(mgmt.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{StartTime: aws.Time(future)}))
	if len(none.Events) != 0 {
		t.Errorf("%d events after %s", len(none.Events), future)
	}

	_, err := mgmt.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("a")},
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("b")},
	}})
	wantType[*cttypes.InvalidLookupAttributesException](t, err)
	_, err = mgmt.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)})
	wantType[*cttypes.InvalidMaxResultsException](t, err)
	_, err = mgmt.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{StartTime: aws.Time(future), EndTime: aws.Time(time.Now())})
	wantType[*cttypes.InvalidTimeRangeException](t, err)
	_, err = mgmt.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{NextToken: aws.String("garbage")})
	wantType[*cttypes.InvalidNextTokenException](t, err)
}

// TestAssumeRoleSourceIdentity: AWS's rules for source identities and
// session names.
func TestAssumeRoleSourceIdentity(t *testing.T) {
	env, org := startOrg(t, 33, 0)
	op := newClients(env.OperatorConfig())
	assume := func(c clients, roleARN, externalID, session, sourceIdentity string) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session)}
		if externalID != "" {
			in.ExternalId = aws.String(externalID)
		}
		if sourceIdentity != "" {
			in.SourceIdentity = aws.String(sourceIdentity)
		}
		return c.sts.AssumeRole(ctx(), in)
	}

	invalid := []struct{ session, sourceIdentity, want string }{
		{"a", "", "'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{strings.Repeat("s", 65), "", "Member must have length less than or equal to 64"},
		{"tg chg", "", "Member must satisfy regular expression pattern"},
		{"tg-chg-1", "a", "'sourceIdentity' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"tg-chg-1", "aws:alice", "'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"tg-chg-1", "alice smith", "Member must satisfy regular expression pattern"},
		{"tg-chg-1", strings.Repeat("a", 65), "Member must have length less than or equal to 64"},
	}
	for _, tc := range invalid {
		_, err := assume(op, org.RoleARN, org.ExternalID, tc.session, tc.sourceIdentity)
		wantCode(t, err, "ValidationError")
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("session %q source identity %q: %v, want %q", tc.session, tc.sourceIdentity, err, tc.want)
		}
	}
	if _, err := assume(op, org.RoleARN, org.ExternalID, "user+=,.@-_9", "alice@example.com"); err != nil {
		t.Errorf("the whole alphabet: %v", err)
	}

	// A role whose trust policy allows sts:AssumeRole alone refuses a
	// source identity.
	plain, err := env.Sandbox.CreateRole(awssandbox.RoleSpec{AccountID: org.ManagementAccountID, Name: "Plain", TrustedAccountID: env.Operator.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = assume(op, plain, "", "tg-chg-1", "alice")
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "is not authorized to perform: sts:SetSourceIdentity on resource: "+plain) {
		t.Errorf("refusal %v does not name sts:SetSourceIdentity", err)
	}
	if _, err := assume(op, plain, "", "tg-chg-1", ""); err != nil {
		t.Errorf("without a source identity: %v", err)
	}

	// Chained sessions keep the source identity; it cannot change. The dev
	// default's member role lets the management account carry one in.
	tg := assumeAs(t, env, org, "tg-chg-2", "alice")
	member := "arn:aws:iam::" + org.MemberAccountIDs[0] + ":role/OrganizationAccountAccessRole"
	_, err = assume(tg, member, "", "probe", "bob")
	wantCode(t, err, "AccessDenied")
	chained, err := assume(tg, member, "", "probe", "")
	if err != nil {
		t.Fatalf("chain into %s: %v", member, err)
	}
	if aws.ToString(chained.SourceIdentity) != "alice" {
		t.Errorf("chained session's source identity %q, want alice", aws.ToString(chained.SourceIdentity))
	}
	in := sessionClients(env.OperatorConfig(), chained.Credentials.AccessKeyId, chained.Credentials.SecretAccessKey, chained.Credentials.SessionToken)
	must[*cloudtrail.DescribeTrailsOutput](t)(in.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{}))
	events := lookup(t, in, cttypes.LookupAttributeKeyUsername, "probe")
	if len(events) != 1 || decodeRecord(t, events[0]).UserIdentity.SessionContext.SourceIdentity != "alice" {
		t.Errorf("the member account's events of the chained session: %+v", events)
	}

	// OrganizationAccountAccessRole as AWS Organizations creates it trusts
	// the management account for sts:AssumeRole only: a session with a
	// source identity cannot chain into it.
	fresh, err := env.Sandbox.CreateOrganization(awssandbox.OrganizationSpec{Name: "initech", Members: 1})
	if err != nil {
		t.Fatal(err)
	}
	freshMgmt := accountClients(env, fresh.Management.ID)
	freshMember := "arn:aws:iam::" + fresh.Members[0].ID + ":role/OrganizationAccountAccessRole"
	if _, err := assume(freshMgmt, freshMember, "", "admin", ""); err != nil {
		t.Errorf("the management account assuming its member's OrganizationAccountAccessRole: %v", err)
	}
	_, err = assume(freshMgmt, freshMember, "", "admin", "alice")
	wantCode(t, err, "AccessDenied")
}
