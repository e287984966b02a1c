package activities

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// EnableTrustedAccess enables trusted access for cloudtrail.amazonaws.com
// only; it never writes a list of principals. Enabling an enabled service is
// a success.
func (a *Activities) EnableTrustedAccess(ctx context.Context, in OrgInput) (Mutation, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Mutation{}, err
	}
	m := newMutation()
	call := startCall(sourceOrganizations, globalEventsRegion, "EnableAWSServiceAccess")
	out, err := c.Organizations.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{
		ServicePrincipal: aws.String(ServicePrincipal),
	})
	if err != nil {
		return Mutation{}, awsError(fmt.Sprintf("enable trusted access for %s in organization %s", ServicePrincipal, orgLabel(in)), err)
	}
	m.answered(call, out.ResultMetadata)
	return m, nil
}

// DisableTrustedAccess disables trusted access for cloudtrail.amazonaws.com
// only. Disabling a disabled service is a success.
func (a *Activities) DisableTrustedAccess(ctx context.Context, in OrgInput) (Mutation, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Mutation{}, err
	}
	m := newMutation()
	call := startCall(sourceOrganizations, globalEventsRegion, "DisableAWSServiceAccess")
	out, err := c.Organizations.DisableAWSServiceAccess(ctx, &organizations.DisableAWSServiceAccessInput{
		ServicePrincipal: aws.String(ServicePrincipal),
	})
	if err != nil {
		return Mutation{}, awsError(fmt.Sprintf("disable trusted access for %s in organization %s", ServicePrincipal, orgLabel(in)), err)
	}
	m.answered(call, out.ResultMetadata)
	return m, nil
}

// EnsureServiceLinkedRole creates AWSServiceRoleForCloudTrail when it is
// missing; its mutation has no call when the role was there. A role name
// that "has been taken" means the role exists: that is convergence, not
// failure.
func (a *Activities) EnsureServiceLinkedRole(ctx context.Context, in OrgInput) (Mutation, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Mutation{}, err
	}
	doing := fmt.Sprintf("create role %s in organization %s", ServiceLinkedRoleName, orgLabel(in))
	exists, err := roleExists(ctx, c)
	if err != nil {
		return Mutation{}, awsError(doing, err)
	}
	m := newMutation()
	if exists {
		return m, nil
	}
	call := startCall(sourceIAM, globalEventsRegion, "CreateServiceLinkedRole")
	out, err := c.IAM.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{
		AWSServiceName: aws.String(ServicePrincipal),
	})
	switch {
	case isCode(err, "InvalidInput") && hasBeenTaken(err):
		m.converged(call, err)
	case err != nil:
		return Mutation{}, awsError(doing, err)
	default:
		m.answered(call, out.ResultMetadata)
	}
	return m, nil
}

// EnsureTrailBucket makes the managed trail's bucket exist with the
// organization-trail bucket policy for the trail (by its own ARN, in its
// home region), adding only the statements it lacks and keeping every
// statement it has. Its mutation lists CreateBucket and PutBucketPolicy
// when it made them. A trail that logs elsewhere than trail.bucket is
// ErrBucketMismatch, with nothing changed.
func (a *Activities) EnsureTrailBucket(ctx context.Context, in TrailInput) (Mutation, error) {
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return Mutation{}, err
	}
	_, arn, err := managedTrail(ctx, c, in)
	if err != nil {
		return Mutation{}, err
	}
	m := newMutation()
	bucket := in.Trail.Bucket
	_, err = c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	switch {
	case isCode(err, "NotFound", "NoSuchBucket"):
		create := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
		if c.Region != "us-east-1" {
			create.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
				LocationConstraint: s3types.BucketLocationConstraint(c.Region),
			}
		}
		call := startCall(sourceS3, c.Region, "CreateBucket")
		out, err := c.S3.CreateBucket(ctx, create)
		switch {
		case isCode(err, "BucketAlreadyExists"):
			return Mutation{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"create bucket %s for the trail of organization %s: the name belongs to another account; choose another trail.bucket",
				bucket, orgLabel(in.OrgInput)), ErrBucketTaken, err)
		case isCode(err, "BucketAlreadyOwnedByYou"):
			m.converged(call, err)
		case err != nil:
			return Mutation{}, awsError(fmt.Sprintf("create bucket %s", bucket), err)
		default:
			m.answered(call, out.ResultMetadata)
		}
	case isCode(err, "Forbidden", "AccessDenied"):
		return Mutation{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"use bucket %s for the trail of organization %s: the bucket belongs to another account or denies access; choose another trail.bucket",
			bucket, orgLabel(in.OrgInput)), ErrBucketTaken, err)
	case err != nil:
		return Mutation{}, awsError(fmt.Sprintf("look up bucket %s", bucket), err)
	}
	current := ""
	got, err := c.S3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	switch {
	case isCode(err, "NoSuchBucketPolicy"):
	case err != nil:
		return Mutation{}, awsError(fmt.Sprintf("read the policy of bucket %s", bucket), err)
	default:
		current = aws.ToString(got.Policy)
	}
	missing, err := missingStatements(current, organizationTrailStatements(bucket, in.ManagementAccountID, in.OrganizationID, arn))
	if err != nil {
		return Mutation{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("bucket %s: %v; fix the bucket policy by hand", bucket, err), "MalformedPolicy", err)
	}
	if len(missing) == 0 {
		return m, nil
	}
	policy, err := mergePolicy(current, missing)
	if err != nil {
		return Mutation{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("bucket %s: %v; fix the bucket policy by hand", bucket, err), "MalformedPolicy", err)
	}
	call := startCall(sourceS3, c.Region, "PutBucketPolicy")
	out, err := c.S3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)})
	if err != nil {
		return Mutation{}, awsError(fmt.Sprintf("put the organization-trail policy on bucket %s", bucket), err)
	}
	m.answered(call, out.ResultMetadata)
	return m, nil
}

// EnsureOrganizationTrail makes the managed trail an organization trail that
// logs: it creates the trail in aws.region (a trail that already exists
// after a partial failure converges), converts an existing trail, in its
// home region, with UpdateTrail, and starts logging, because new trails do
// not log. Conversion keeps the trail's own bucket: a trail that logs
// elsewhere than trail.bucket is ErrBucketMismatch, with nothing changed.
// Trails are addressed by ARN.
func (a *Activities) EnsureOrganizationTrail(ctx context.Context, in TrailInput) (TrailMutation, error) {
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return TrailMutation{}, err
	}
	current, arn, err := managedTrail(ctx, c, in)
	if err != nil {
		return TrailMutation{}, err
	}
	m := newMutation()
	ct := c.CloudTrailIn(regionOf(arn))
	switch {
	case current == nil:
		activity.GetLogger(ctx).Info("creating organization trail", "trail", arn)
		call := startCall(sourceCloudTrail, regionOf(arn), "CreateTrail")
		out, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
			Name:                       aws.String(in.Trail.Name),
			S3BucketName:               aws.String(in.Trail.Bucket),
			IsOrganizationTrail:        aws.Bool(true),
			IsMultiRegionTrail:         aws.Bool(in.Trail.MultiRegion),
			EnableLogFileValidation:    aws.Bool(in.Trail.LogFileValidation),
			IncludeGlobalServiceEvents: aws.Bool(true),
			KmsKeyId:                   optional(in.Trail.KMSKeyID),
		})
		switch {
		case isCode(err, "TrailAlreadyExistsException"):
			m.converged(call, err)
		case err != nil:
			return TrailMutation{}, awsError(fmt.Sprintf("create organization trail %s", arn), err)
		default:
			m.answered(call, out.ResultMetadata)
		}
	case !current.IsOrganizationTrail:
		// No S3BucketName: converting a trail never moves its logs.
		call := startCall(sourceCloudTrail, regionOf(arn), "UpdateTrail")
		out, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{
			Name:                aws.String(arn),
			IsOrganizationTrail: aws.Bool(true),
			IsMultiRegionTrail:  aws.Bool(in.Trail.MultiRegion),
		})
		if err != nil {
			return TrailMutation{}, awsError(fmt.Sprintf("convert trail %s to an organization trail", arn), err)
		}
		m.answered(call, out.ResultMetadata)
	}
	if current == nil || !current.IsLogging {
		call := startCall(sourceCloudTrail, regionOf(arn), "StartLogging")
		out, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)})
		if err != nil {
			return TrailMutation{}, awsError(fmt.Sprintf("start logging on trail %s", arn), err)
		}
		m.answered(call, out.ResultMetadata)
	}
	after, err := readTrail(ctx, c, arn)
	if err != nil {
		return TrailMutation{}, awsError(fmt.Sprintf("read trail %s", arn), err)
	}
	if after == nil {
		return TrailMutation{}, temporal.NewApplicationError(fmt.Sprintf("trail %s is not visible yet after its creation", arn), ErrNotYetVisible)
	}
	return TrailMutation{TrailState: *after, Mutation: m}, nil
}

// managedTrail finds the managed trail, wherever its home region is, and
// the ARN it has or, when it does not exist yet, will have once created in
// the clients' region. A trail that logs to another bucket than
// trail.bucket is ErrBucketMismatch: trailgate never moves a trail's logs,
// and giving trail.bucket the trail's statements would prepare a bucket
// the trail does not use.
func managedTrail(ctx context.Context, c *awsclient.Clients, in TrailInput) (*TrailState, string, error) {
	t, err := findTrail(ctx, c, in.Trail.Name)
	if err != nil {
		return nil, "", awsError(fmt.Sprintf("find trail %s in organization %s", in.Trail.Name, orgLabel(in.OrgInput)), err)
	}
	if t == nil {
		return nil, trailARN(c.Region, in.ManagementAccountID, in.Trail.Name), nil
	}
	if t.Bucket != in.Trail.Bucket {
		return nil, "", temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"trail %s of organization %s logs to bucket %s, but trail.bucket names %s; trailgate does not move a trail's logs: set trail.bucket to %s, or move the trail yourself",
			t.ARN, orgLabel(in.OrgInput), t.Bucket, in.Trail.Bucket, t.Bucket), ErrBucketMismatch, nil)
	}
	return t, t.ARN, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
