package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// Preflight checks who the credentials act as and that they act in the
// organization's management account, with all features enabled. Anything
// else is a non-retryable error that says what to fix.
func (a *Activities) Preflight(ctx context.Context, in OrgInput) (Identity, error) {
	org := in
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Identity{}, err
	}
	who, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, awsError(fmt.Sprintf("identify the caller for organization %s", orgLabel(org)), err)
	}
	out, err := c.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return Identity{}, awsError(fmt.Sprintf("describe organization %s", orgLabel(org)), err)
	}
	id := Identity{
		AccountID:           aws.ToString(who.Account),
		ARN:                 aws.ToString(who.Arn),
		OrganizationID:      aws.ToString(out.Organization.Id),
		ManagementAccountID: aws.ToString(out.Organization.MasterAccountId),
		FeatureSet:          string(out.Organization.FeatureSet),
	}
	if id.AccountID != id.ManagementAccountID {
		return id, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"preflight of organization %s: the caller %s acts in account %s, not in the management account %s of %s; set role_arn to a role in the management account",
			orgLabel(org), id.ARN, id.AccountID, id.ManagementAccountID, id.OrganizationID), ErrNotManagementAccount, nil)
	}
	if org.ManagementAccountID != "" && org.ManagementAccountID != id.ManagementAccountID {
		return id, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"preflight of organization %s: configured management account %s, but AWS says the management account of %s is %s; fix management_account_id or role_arn",
			org.Organization, org.ManagementAccountID, id.OrganizationID, id.ManagementAccountID), ErrNotManagementAccount, nil)
	}
	if id.FeatureSet != "ALL" {
		return id, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"preflight of organization %s: feature set is %s; trusted access needs all features (aws organizations enable-all-features)",
			orgLabel(org), id.FeatureSet), ErrNotAllFeatures, nil)
	}
	return id, nil
}

// ReadState reads the organization's CloudTrail integration: trusted access
// (with DateEnabled), the service-linked role and, when a trail is managed,
// the trail and its bucket policy.
func (a *Activities) ReadState(ctx context.Context, in OrgInput) (State, error) {
	org := in
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return State{}, err
	}
	out, err := c.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return State{}, awsError(fmt.Sprintf("describe organization %s", orgLabel(org)), err)
	}
	st := State{
		OrganizationID:      aws.ToString(out.Organization.Id),
		ManagementAccountID: aws.ToString(out.Organization.MasterAccountId),
	}
	if st.TrustedAccess, st.DateEnabled, err = trustedAccess(ctx, c); err != nil {
		return State{}, awsError(fmt.Sprintf("list trusted services of organization %s", orgLabel(org)), err)
	}
	if st.ServiceLinkedRole, err = roleExists(ctx, c); err != nil {
		return State{}, awsError(fmt.Sprintf("read role %s in organization %s", ServiceLinkedRoleName, orgLabel(org)), err)
	}
	if in.Trail.Name == "" {
		return st, nil
	}
	arn := trailARN(c.Region, st.ManagementAccountID, in.Trail.Name)
	if st.Trail, err = readTrail(ctx, c, arn); err != nil {
		return State{}, awsError(fmt.Sprintf("read trail %s", arn), err)
	}
	if st.BucketPolicyReady, err = bucketPolicyReady(ctx, c, in.Trail.Bucket, st.ManagementAccountID, st.OrganizationID, arn); err != nil {
		return State{}, awsError(fmt.Sprintf("read the policy of bucket %s", in.Trail.Bucket), err)
	}
	return st, nil
}

// TakeInventory lists what disabling trusted access would affect:
// organization trails, CloudTrail Lake organization event data stores and
// CloudTrail's delegated administrators.
func (a *Activities) TakeInventory(ctx context.Context, in OrgInput) (Inventory, error) {
	org := in
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Inventory{}, err
	}
	inv := Inventory{OrganizationTrails: []TrailState{}, EventDataStores: []string{}, DelegatedAdministrators: []string{}}
	trails, err := c.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return Inventory{}, awsError(fmt.Sprintf("describe trails of organization %s", orgLabel(org)), err)
	}
	for _, t := range trails.TrailList {
		if !aws.ToBool(t.IsOrganizationTrail) {
			continue
		}
		ts := TrailState{
			Name:                aws.ToString(t.Name),
			ARN:                 aws.ToString(t.TrailARN),
			HomeRegion:          aws.ToString(t.HomeRegion),
			IsOrganizationTrail: true,
			OwnerHint:           ownerHint(aws.ToString(t.Name)),
		}
		status, err := c.CloudTrail.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN})
		if err != nil {
			return Inventory{}, awsError(fmt.Sprintf("read the status of trail %s", ts.ARN), err)
		}
		ts.IsLogging = aws.ToBool(status.IsLogging)
		inv.OrganizationTrails = append(inv.OrganizationTrails, ts)
	}
	var next *string
	for {
		stores, err := c.CloudTrail.ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{NextToken: next})
		if err != nil {
			return Inventory{}, awsError(fmt.Sprintf("list event data stores of organization %s", orgLabel(org)), err)
		}
		for _, s := range stores.EventDataStores {
			eds, err := c.CloudTrail.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: s.EventDataStoreArn})
			if err != nil {
				return Inventory{}, awsError(fmt.Sprintf("read event data store %s", aws.ToString(s.EventDataStoreArn)), err)
			}
			if aws.ToBool(eds.OrganizationEnabled) {
				inv.EventDataStores = append(inv.EventDataStores, aws.ToString(eds.EventDataStoreArn))
			}
		}
		if next = stores.NextToken; next == nil {
			break
		}
	}
	admins := organizations.NewListDelegatedAdministratorsPaginator(c.Organizations,
		&organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String(ServicePrincipal)})
	for admins.HasMorePages() {
		page, err := admins.NextPage(ctx)
		if err != nil {
			return Inventory{}, awsError(fmt.Sprintf("list CloudTrail delegated administrators of organization %s", orgLabel(org)), err)
		}
		for _, d := range page.DelegatedAdministrators {
			inv.DelegatedAdministrators = append(inv.DelegatedAdministrators, aws.ToString(d.Id))
		}
	}
	return inv, nil
}

// trustedAccess reports whether cloudtrail.amazonaws.com is a trusted service
// of the organization, following every page.
func trustedAccess(ctx context.Context, c *awsclient.Clients) (bool, *time.Time, error) {
	p := organizations.NewListAWSServiceAccessForOrganizationPaginator(c.Organizations,
		&organizations.ListAWSServiceAccessForOrganizationInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, nil, err
		}
		for _, s := range page.EnabledServicePrincipals {
			if aws.ToString(s.ServicePrincipal) == ServicePrincipal {
				return true, s.DateEnabled, nil
			}
		}
	}
	return false, nil, nil
}

// roleExists reports whether AWSServiceRoleForCloudTrail exists.
func roleExists(ctx context.Context, c *awsclient.Clients) (bool, error) {
	_, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ServiceLinkedRoleName)})
	if isCode(err, "NoSuchEntity") {
		return false, nil
	}
	return err == nil, err
}

// readTrail reads a trail and its logging status by ARN; nil when it does
// not exist.
func readTrail(ctx context.Context, c *awsclient.Clients, arn string) (*TrailState, error) {
	out, err := c.CloudTrail.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if isCode(err, "TrailNotFoundException") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	status, err := c.CloudTrail.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	t := out.Trail
	return &TrailState{
		Name:                aws.ToString(t.Name),
		ARN:                 aws.ToString(t.TrailARN),
		HomeRegion:          aws.ToString(t.HomeRegion),
		IsOrganizationTrail: aws.ToBool(t.IsOrganizationTrail),
		IsLogging:           aws.ToBool(status.IsLogging),
		OwnerHint:           ownerHint(aws.ToString(t.Name)),
	}, nil
}

// bucketPolicyReady reports whether the bucket exists with every statement
// an organization trail needs.
func bucketPolicyReady(ctx context.Context, c *awsclient.Clients, bucket, mgmt, orgID, trailARN string) (bool, error) {
	if bucket == "" {
		return false, nil
	}
	out, err := c.S3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if isCode(err, "NoSuchBucket", "NoSuchBucketPolicy", "NotFound") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	missing, err := missingStatements(aws.ToString(out.Policy), organizationTrailStatements(bucket, mgmt, orgID, trailARN))
	if err != nil {
		return false, nil
	}
	return len(missing) == 0, nil
}

// trailARN is the ARN of a trail in the management account's home region.
func trailARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", region, account, name)
}

// ownerHint names the tool that a trail's name says owns it.
func ownerHint(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasPrefix(n, "aws-controltower"):
		return "AWS Control Tower"
	case strings.Contains(n, "awsaccelerator") || strings.Contains(n, "aws-accelerator"):
		return "Landing Zone Accelerator"
	case strings.Contains(n, "terraform") || strings.HasPrefix(n, "tf-"):
		return "Terraform"
	}
	return ""
}
