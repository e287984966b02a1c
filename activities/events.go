package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// FindEvents links a change's calls to their management events in
// CloudTrail's event history: LookupEvents, in each region the calls were
// made in (us-east-1 for Organizations and IAM), for the events of the
// session's user name since a minute before the first call, matched to the
// calls by request ID. A call whose event is not found yet (CloudTrail
// delivers within about 15 minutes) is Missing, which is no error. An
// error fails the lookup, never the change: the workflow records the
// events as not linked.
func (a *Activities) FindEvents(ctx context.Context, in EventsInput) (Events, error) {
	found := Events{Found: []Event{}}
	if len(in.Calls) == 0 {
		return found, nil
	}
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return Events{}, err
	}
	doing := fmt.Sprintf("look up the events of the calls to organization %s", orgLabel(in.OrgInput))
	username, err := sessionUsername(ctx, c)
	if err != nil {
		return Events{}, awsError(doing, err)
	}
	since := in.Calls[0].At
	var regions []string
	for _, call := range in.Calls {
		if call.At.Before(since) {
			since = call.At
		}
		if !slices.Contains(regions, call.Region) {
			regions = append(regions, call.Region)
		}
	}
	since = since.Add(-time.Minute)
	byRequest := map[string]Event{}
	for _, region := range regions {
		if err := lookupEvents(ctx, c.CloudTrailIn(region), username, since, byRequest); err != nil {
			return Events{}, awsError(fmt.Sprintf("%s in %s", doing, region), err)
		}
	}
	for _, call := range in.Calls {
		e, ok := byRequest[call.RequestID]
		if !ok || call.RequestID == "" {
			found.Missing = append(found.Missing, call)
			continue
		}
		e.Call = call
		found.Found = append(found.Found, e)
	}
	return found, nil
}

// sessionUsername is CloudTrail's user name for the calls of c: the role
// session name (tg-<change ID>) of an assumed role, and the user's name for
// default credentials that name no session. GetCallerIdentity says which.
func sessionUsername(ctx context.Context, c *awsclient.Clients) (string, error) {
	who, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return usernameOf(aws.ToString(who.Arn)), nil
}

// cloudTrailRecord is the part of an event's CloudTrail record that links
// it to a call and a person.
type cloudTrailRecord struct {
	EventID      string    `json:"eventID"`
	RequestID    string    `json:"requestID"`
	EventName    string    `json:"eventName"`
	EventSource  string    `json:"eventSource"`
	EventTime    time.Time `json:"eventTime"`
	AWSRegion    string    `json:"awsRegion"`
	ReadOnly     bool      `json:"readOnly"`
	UserIdentity struct {
		SessionContext struct {
			SourceIdentity string `json:"sourceIdentity"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
}

// event is the record as an Event of the call it records.
func (rec cloudTrailRecord) event(ev cttypes.Event) Event {
	id := rec.EventID
	if id == "" {
		id = aws.ToString(ev.EventId)
	}
	return Event{
		Call:           Call{Operation: rec.EventName, Service: rec.EventSource, Region: rec.AWSRegion, At: rec.EventTime, RequestID: rec.RequestID},
		EventID:        id,
		Username:       aws.ToString(ev.Username),
		SourceIdentity: rec.UserIdentity.SessionContext.SourceIdentity,
	}
}

// lookupEvents adds the events of one region, by request ID, following
// every page.
func lookupEvents(ctx context.Context, ct *cloudtrail.Client, username string, since time.Time, byRequest map[string]Event) error {
	return eachEvent(ctx, ct, username, since, func(rec cloudTrailRecord, ev cttypes.Event) {
		byRequest[rec.RequestID] = rec.event(ev)
	})
}

// eachEvent passes each event of username since then in one region, with
// its record, to f, following every page. An event without a request ID
// links to no call and is left out.
func eachEvent(ctx context.Context, ct *cloudtrail.Client, username string, since time.Time, f func(cloudTrailRecord, cttypes.Event)) error {
	p := cloudtrail.NewLookupEventsPaginator(ct, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String(username)}},
		StartTime:        aws.Time(since),
	})
	return eachPage(ctx, p.HasMorePages, p.NextPage, func(page *cloudtrail.LookupEventsOutput) {
		for _, ev := range page.Events {
			var rec cloudTrailRecord
			if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil || rec.RequestID == "" {
				continue
			}
			f(rec, ev)
		}
	})
}

// earlierCalls are the calls that change the organization, made in its
// session since then, that made does not hold, as CloudTrail shows them:
// those of an attempt cut short. Best effort: CloudTrail may not show
// them yet, and a lookup that fails finds none.
func (a *Activities) earlierCalls(ctx context.Context, in OrgInput, since time.Time, made []Applied) []Call {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return nil
	}
	username, err := sessionUsername(ctx, c)
	if err != nil {
		return nil
	}
	mine := map[string]bool{}
	for _, m := range made {
		for _, call := range m.Calls {
			mine[call.RequestID] = true
		}
	}
	var out []Call
	for _, region := range slices.Compact([]string{awsclient.OrganizationsRegion, c.Region}) {
		_ = eachEvent(ctx, c.CloudTrailIn(region), username, since, func(rec cloudTrailRecord, ev cttypes.Event) {
			if !rec.ReadOnly && !mine[rec.RequestID] {
				out = append(out, rec.event(ev).Call)
			}
		})
	}
	slices.SortFunc(out, func(x, y Call) int { return x.At.Compare(y.At) })
	return out
}
