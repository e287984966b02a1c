package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// ProbeMemberAccount looks at the organization trails from a member
// account, through the organization's probe role assumed from the
// management account's session: the management account's own view
// (IsLogging) says nothing about whether member accounts are logged. It
// reads back, with backoff and heartbeats until the activity's deadline,
// until every listed trail is visible in the member account, in its home
// region, as an organization trail that logs. Without a probe role there is
// nothing to probe.
func (a *Activities) ProbeMemberAccount(ctx context.Context, in VerifyInput) (MemberProbe, error) {
	if in.ProbeRoleARN == "" {
		return MemberProbe{}, nil
	}
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return MemberProbe{}, err
	}
	doing := fmt.Sprintf("probe organization %s from a member account through role %s", orgLabel(in.OrgInput), in.ProbeRoleARN)
	// The management session first, so that a refusal of the probe role
	// below is the probe role's own.
	if _, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		return MemberProbe{}, awsError(doing, err)
	}
	member := c.InRole(in.ProbeRoleARN)
	who, err := member.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var denied smithy.APIError
	if errors.As(err, &denied) && denied.ErrorCode() == "AccessDenied" {
		return MemberProbe{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"probe organization %s from a member account: the probe role %s cannot be assumed from the management account (sts:AssumeRole answered AccessDenied: %s); create it or fix organizations[].probe_role_name",
			orgLabel(in.OrgInput), in.ProbeRoleARN, denied.ErrorMessage()), ErrProbeRoleRefused, err)
	}
	if err != nil {
		return MemberProbe{}, awsError(doing, err)
	}
	account := aws.ToString(who.Account)
	probe, checks, err := poll(ctx, a.polling, doing,
		func() (MemberProbe, error) { return readMemberView(ctx, member, in.TrailARNs) },
		func(p MemberProbe) []string {
			var missing []string
			for _, t := range p.Trails {
				switch {
				// A member account sees the management account's trail only
				// as an organization trail: visible is organization trail.
				case t.Name == "":
					missing = append(missing, "trail "+t.ARN+" is not visible as an organization trail in member account "+account)
				case !t.IsLogging:
					missing = append(missing, "trail "+t.ARN+" is not logging for member account "+account)
				}
			}
			return missing
		})
	if err != nil {
		return MemberProbe{}, err
	}
	probe.AccountID, probe.RoleARN, probe.Checks = account, in.ProbeRoleARN, checks
	return probe, nil
}

// readMemberView reads each trail as a member account sees it, once: the
// trail among the account's trails (shadow trails included) in the trail's
// home region, and its logging status there. A trail the account does not
// see has no name.
func readMemberView(ctx context.Context, member *awsclient.Clients, arns []string) (MemberProbe, error) {
	p := MemberProbe{Trails: []TrailState{}}
	seen := map[string]map[string]TrailState{} // region: ARN: trail
	for _, arn := range arns {
		region := regionOf(arn)
		ct := member.CloudTrailIn(region)
		if seen[region] == nil {
			out, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
			if err != nil {
				return MemberProbe{}, err
			}
			seen[region] = map[string]TrailState{}
			for _, t := range out.TrailList {
				seen[region][aws.ToString(t.TrailARN)] = TrailState{
					Name:                aws.ToString(t.Name),
					ARN:                 aws.ToString(t.TrailARN),
					HomeRegion:          aws.ToString(t.HomeRegion),
					IsOrganizationTrail: aws.ToBool(t.IsOrganizationTrail),
					Bucket:              aws.ToString(t.S3BucketName),
					OwnerHint:           ownerHint(aws.ToString(t.Name)),
				}
			}
		}
		t, ok := seen[region][arn]
		if !ok {
			p.Trails = append(p.Trails, TrailState{ARN: arn, HomeRegion: region})
			continue
		}
		status, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
		if err != nil {
			return MemberProbe{}, err
		}
		t.IsLogging = aws.ToBool(status.IsLogging)
		p.Trails = append(p.Trails, t)
	}
	return p, nil
}
