package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailgate/trailgate/activities"
)

// setTrustedAccess turns trusted access for CloudTrail on or off by hand,
// as the organization's management account, and returns once AWS lists it
// so (the sandbox, like AWS, is eventually consistent).
func (w *world) setTrustedAccess(org string, on bool) {
	w.t.Helper()
	ctx := context.Background()
	c := organizations.NewFromConfig(w.aws.ConfigFor(w.env.Org(org).ManagementAccountID))
	var err error
	if on {
		_, err = c.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(activities.ServicePrincipal)})
	} else {
		_, err = c.DisableAWSServiceAccess(ctx, &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(activities.ServicePrincipal)})
	}
	if err != nil {
		w.t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		out, err := c.ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})
		if err != nil {
			w.t.Fatal(err)
		}
		if listed := slices.ContainsFunc(out.EnabledServicePrincipals, func(p orgtypes.EnabledServicePrincipal) bool {
			return aws.ToString(p.ServicePrincipal) == activities.ServicePrincipal
		}); listed == on {
			return
		}
	}
}

// awsState is what AWS says about every organization, read through the AWS
// SDK as each management account.
type awsState map[string]orgState

type orgState struct {
	TrustedAccess []string
	Role          bool
	Trails        []string
	Buckets       []string
}

func (w *world) readAWS() awsState {
	w.t.Helper()
	ctx := context.Background()
	st := awsState{}
	for _, o := range w.aws.Orgs {
		cfg := w.aws.ConfigFor(o.ManagementAccountID)
		var s orgState
		// Trusted access as the sandbox holds it, before its propagation
		// delay: a change that should have changed nothing is caught at once.
		on, err := w.aws.Sandbox.TrustedAccess(o.OrganizationID, activities.ServicePrincipal)
		if err != nil {
			w.t.Fatalf("read trusted access of %s: %v", o.Name, err)
		}
		if on {
			s.TrustedAccess = append(s.TrustedAccess, activities.ServicePrincipal)
		}
		_, err = iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(activities.ServiceLinkedRoleName)})
		s.Role = err == nil
		trails, err := cloudtrail.NewFromConfig(cfg).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		if err != nil {
			w.t.Fatalf("read trails of %s: %v", o.Name, err)
		}
		for _, tr := range trails.TrailList {
			status, err := cloudtrail.NewFromConfig(cfg).GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: tr.TrailARN})
			if err != nil {
				w.t.Fatalf("read trail status of %s: %v", aws.ToString(tr.TrailARN), err)
			}
			s.Trails = append(s.Trails, fmt.Sprintf("%s org=%v logging=%v", aws.ToString(tr.TrailARN), aws.ToBool(tr.IsOrganizationTrail), aws.ToBool(status.IsLogging)))
		}
		buckets, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			w.t.Fatalf("list buckets of %s: %v", o.Name, err)
		}
		for _, b := range buckets.Buckets {
			s.Buckets = append(s.Buckets, aws.ToString(b.Name))
		}
		st[o.Name] = s
	}
	return st
}

func (s orgState) enabled() bool { return slices.Contains(s.TrustedAccess, "cloudtrail.amazonaws.com") }
