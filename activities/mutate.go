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
)

// EnableTrustedAccess enables trusted access for cloudtrail.amazonaws.com
// only; it never writes a list of principals. Enabling an enabled service is
// a success.
func (a *Activities) EnableTrustedAccess(ctx context.Context, in OrgInput) error {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return err
	}
	_, err = c.Organizations.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{
		ServicePrincipal: aws.String(ServicePrincipal),
	})
	return awsError(fmt.Sprintf("enable trusted access for %s in organization %s", ServicePrincipal, orgLabel(in)), err)
}

// DisableTrustedAccess disables trusted access for cloudtrail.amazonaws.com
// only. Disabling a disabled service is a success.
func (a *Activities) DisableTrustedAccess(ctx context.Context, in OrgInput) error {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return err
	}
	_, err = c.Organizations.DisableAWSServiceAccess(ctx, &organizations.DisableAWSServiceAccessInput{
		ServicePrincipal: aws.String(ServicePrincipal),
	})
	return awsError(fmt.Sprintf("disable trusted access for %s in organization %s", ServicePrincipal, orgLabel(in)), err)
}

// EnsureServiceLinkedRole creates AWSServiceRoleForCloudTrail when it is
// missing, and reports whether it created it. A role name that "has been
// taken" means the role exists: that is convergence, not failure.
func (a *Activities) EnsureServiceLinkedRole(ctx context.Context, in OrgInput) (bool, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return false, err
	}
	doing := fmt.Sprintf("create role %s in organization %s", ServiceLinkedRoleName, orgLabel(in))
	exists, err := roleExists(ctx, c)
	if err != nil {
		return false, awsError(doing, err)
	}
	if exists {
		return false, nil
	}
	_, err = c.IAM.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{
		AWSServiceName: aws.String(ServicePrincipal),
	})
	if isCode(err, "InvalidInput") && hasBeenTaken(err) {
		return false, nil
	}
	if err != nil {
		return false, awsError(doing, err)
	}
	return true, nil
}

// EnsureTrailBucket makes the managed trail's bucket exist with the
// organization-trail bucket policy, adding only the statements it lacks and
// keeping every statement it has.
func (a *Activities) EnsureTrailBucket(ctx context.Context, in TrailInput) error {
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return err
	}
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
		_, err = c.S3.CreateBucket(ctx, create)
		if isCode(err, "BucketAlreadyExists") {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"create bucket %s for the trail of organization %s: the name belongs to another account; choose another trail.bucket",
				bucket, orgLabel(in.OrgInput)), ErrBucketTaken, err)
		}
		if err != nil && !isCode(err, "BucketAlreadyOwnedByYou") {
			return awsError(fmt.Sprintf("create bucket %s", bucket), err)
		}
	case isCode(err, "Forbidden", "AccessDenied"):
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"use bucket %s for the trail of organization %s: the bucket belongs to another account or denies access; choose another trail.bucket",
			bucket, orgLabel(in.OrgInput)), ErrBucketTaken, err)
	case err != nil:
		return awsError(fmt.Sprintf("look up bucket %s", bucket), err)
	}
	arn := trailARN(c.Region, in.ManagementAccountID, in.Trail.Name)
	current := ""
	out, err := c.S3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	switch {
	case isCode(err, "NoSuchBucketPolicy"):
	case err != nil:
		return awsError(fmt.Sprintf("read the policy of bucket %s", bucket), err)
	default:
		current = aws.ToString(out.Policy)
	}
	missing, err := missingStatements(current, organizationTrailStatements(bucket, in.ManagementAccountID, in.OrganizationID, arn))
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("bucket %s: %v; fix the bucket policy by hand", bucket, err), "MalformedPolicy", err)
	}
	if len(missing) == 0 {
		return nil
	}
	policy, err := mergePolicy(current, missing)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("bucket %s: %v; fix the bucket policy by hand", bucket, err), "MalformedPolicy", err)
	}
	_, err = c.S3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)})
	return awsError(fmt.Sprintf("put the organization-trail policy on bucket %s", bucket), err)
}

// EnsureOrganizationTrail makes the managed trail an organization trail that
// logs: it creates the trail (a trail that already exists after a partial
// failure converges), converts an existing trail with UpdateTrail, and starts
// logging, because new trails do not log. Trails are addressed by ARN.
func (a *Activities) EnsureOrganizationTrail(ctx context.Context, in TrailInput) (TrailState, error) {
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return TrailState{}, err
	}
	arn := trailARN(c.Region, in.ManagementAccountID, in.Trail.Name)
	current, err := readTrail(ctx, c, arn)
	if err != nil {
		return TrailState{}, awsError(fmt.Sprintf("read trail %s", arn), err)
	}
	switch {
	case current == nil:
		activity.GetLogger(ctx).Info("creating organization trail", "trail", arn)
		_, err = c.CloudTrail.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
			Name:                       aws.String(in.Trail.Name),
			S3BucketName:               aws.String(in.Trail.Bucket),
			IsOrganizationTrail:        aws.Bool(true),
			IsMultiRegionTrail:         aws.Bool(in.Trail.MultiRegion),
			EnableLogFileValidation:    aws.Bool(in.Trail.LogFileValidation),
			IncludeGlobalServiceEvents: aws.Bool(true),
			KmsKeyId:                   optional(in.Trail.KMSKeyID),
		})
		if err != nil && !isCode(err, "TrailAlreadyExistsException") {
			return TrailState{}, awsError(fmt.Sprintf("create organization trail %s", arn), err)
		}
	case !current.IsOrganizationTrail:
		_, err = c.CloudTrail.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{
			Name:                aws.String(arn),
			S3BucketName:        aws.String(in.Trail.Bucket),
			IsOrganizationTrail: aws.Bool(true),
			IsMultiRegionTrail:  aws.Bool(in.Trail.MultiRegion),
		})
		if err != nil {
			return TrailState{}, awsError(fmt.Sprintf("convert trail %s to an organization trail", arn), err)
		}
	}
	if current == nil || !current.IsLogging {
		if _, err := c.CloudTrail.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)}); err != nil {
			return TrailState{}, awsError(fmt.Sprintf("start logging on trail %s", arn), err)
		}
	}
	after, err := readTrail(ctx, c, arn)
	if err != nil {
		return TrailState{}, awsError(fmt.Sprintf("read trail %s", arn), err)
	}
	if after == nil {
		return TrailState{}, temporal.NewApplicationError(fmt.Sprintf("trail %s is not visible yet after its creation", arn), ErrNotYetVisible)
	}
	return *after, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
