package activities

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// EnsureTrailBucket makes the managed trail's bucket exist with the
// organization-trail bucket policy for the trail (by its own ARN, in its
// home region), adding only the statements it lacks and keeping every
// statement it has. Its mutation lists CreateBucket and PutBucketPolicy
// when it made them. A trail that logs elsewhere than trail.bucket is
// ErrBucketMismatch, with nothing changed.
func (a *Activities) EnsureTrailBucket(ctx context.Context, in TrailInput) (Mutation, error) {
	c, _, arn, err := a.managedTrail(ctx, in)
	if err != nil {
		return Mutation{}, err
	}
	m := newMutation()
	if err := ensureBucket(ctx, c, in, &m); err != nil {
		return Mutation{}, err
	}
	if err := ensureBucketPolicy(ctx, c, in, arn, &m); err != nil {
		return Mutation{}, err
	}
	return m, nil
}

// ensureBucket creates the trail's bucket, in the clients' region, when it
// is missing. A bucket of another account is ErrBucketTaken.
func ensureBucket(ctx context.Context, c *awsclient.Clients, in TrailInput, m *Mutation) error {
	bucket := in.Trail.Bucket
	_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
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
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"create bucket %s for the trail of organization %s: the name belongs to another account; choose another trail.bucket",
				bucket, orgLabel(in.OrgInput)), ErrBucketTaken, err)
		case isCode(err, "BucketAlreadyOwnedByYou"):
			m.converged(call, err)
		case err != nil:
			return awsError(fmt.Sprintf("create bucket %s", bucket), err)
		default:
			m.answered(call, out.ResultMetadata)
		}
	case isCode(err, "Forbidden", "AccessDenied"):
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"use bucket %s for the trail of organization %s: the bucket belongs to another account or denies access; choose another trail.bucket",
			bucket, orgLabel(in.OrgInput)), ErrBucketTaken, err)
	case err != nil:
		return awsError(fmt.Sprintf("look up bucket %s", bucket), err)
	}
	return nil
}

// EnsureOrganizationTrail makes the managed trail an organization trail that
// logs: it creates the trail in aws.region (a trail that already exists
// after a partial failure converges), converts an existing trail, in its
// home region, with UpdateTrail, and starts logging, because new trails do
// not log. Conversion keeps the trail's own bucket: a trail that logs
// elsewhere than trail.bucket is ErrBucketMismatch, with nothing changed.
// Trails are addressed by ARN.
func (a *Activities) EnsureOrganizationTrail(ctx context.Context, in TrailInput) (TrailMutation, error) {
	c, current, arn, err := a.managedTrail(ctx, in)
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

// managedTrail reaches the organization and finds its managed trail,
// wherever its home region is, and the ARN it has or, when it does not
// exist yet, will have once created in the clients' region. A trail that
// logs to another bucket than trail.bucket is ErrBucketMismatch: trailgate
// never moves a trail's logs, and giving trail.bucket the trail's
// statements would prepare a bucket the trail does not use.
func (a *Activities) managedTrail(ctx context.Context, in TrailInput) (*awsclient.Clients, *TrailState, string, error) {
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return nil, nil, "", err
	}
	t, err := findTrail(ctx, c, in.Trail.Name)
	if err != nil {
		return nil, nil, "", awsError(fmt.Sprintf("find trail %s in organization %s", in.Trail.Name, orgLabel(in.OrgInput)), err)
	}
	if t == nil {
		return c, nil, trailARN(c.Region, in.ManagementAccountID, in.Trail.Name), nil
	}
	if t.Bucket != in.Trail.Bucket {
		return nil, nil, "", temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"trail %s of organization %s logs to bucket %s, but trail.bucket names %s; trailgate does not move a trail's logs: set trail.bucket to %s, or move the trail yourself",
			t.ARN, orgLabel(in.OrgInput), t.Bucket, in.Trail.Bucket, t.Bucket), ErrBucketMismatch, nil)
	}
	return c, t, t.ARN, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
