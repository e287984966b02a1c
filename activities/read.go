package activities

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// Preflight checks who the credentials act as and that they act in the
// organization's management account, with all features enabled. Anything
// else is a non-retryable error that says what to fix.
func (a *Activities) Preflight(ctx context.Context, in OrgInput) (Identity, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Identity{}, err
	}
	id, _, err := preflight(ctx, c, in)
	return id, err
}

// preflight is Preflight with the organization's clients; it returns the
// organization as DescribeOrganization answered, for a read to follow.
func preflight(ctx context.Context, c *awsclient.Clients, in OrgInput) (Identity, *organizations.DescribeOrganizationOutput, error) {
	who, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, nil, awsError(fmt.Sprintf("identify the caller for organization %s", orgLabel(in)), err)
	}
	out, err := describeOrganization(ctx, c, in)
	if err != nil {
		return Identity{}, nil, err
	}
	id := Identity{
		AccountID:           aws.ToString(who.Account),
		ARN:                 aws.ToString(who.Arn),
		OrganizationID:      aws.ToString(out.Organization.Id),
		ManagementAccountID: aws.ToString(out.Organization.MasterAccountId),
		FeatureSet:          string(out.Organization.FeatureSet),
	}
	return id, out, CheckManagementAccount(in, id)
}

// describeOrganization reads the organization that the clients act in.
func describeOrganization(ctx context.Context, c *awsclient.Clients, in OrgInput) (*organizations.DescribeOrganizationOutput, error) {
	out, err := c.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, awsError(fmt.Sprintf("describe organization %s", orgLabel(in)), err)
	}
	return out, nil
}

// CheckManagementAccount checks what GetCallerIdentity and
// DescribeOrganization returned, id: the caller acts in the management
// account of its organization, that account is org's configured one (when
// org names one), and the organization has all features. Anything else is a
// non-retryable error of type ErrNotManagementAccount or ErrNotAllFeatures
// that says what to fix.
func CheckManagementAccount(org OrgInput, id Identity) error {
	if id.AccountID != id.ManagementAccountID {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"preflight of organization %s: the caller %s acts in account %s, not in the management account %s of %s; set role_arn to a role in the management account",
			orgLabel(org), id.ARN, id.AccountID, id.ManagementAccountID, id.OrganizationID), ErrNotManagementAccount, nil)
	}
	if org.ManagementAccountID != "" && org.ManagementAccountID != id.ManagementAccountID {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"preflight of organization %s: configured management account %s, but AWS says the management account of %s is %s; fix management_account_id or role_arn",
			org.Organization, org.ManagementAccountID, id.OrganizationID, id.ManagementAccountID), ErrNotManagementAccount, nil)
	}
	if id.FeatureSet != "ALL" {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"preflight of organization %s: feature set is %s; trusted access needs all features (aws organizations enable-all-features)",
			orgLabel(org), id.FeatureSet), ErrNotAllFeatures, nil)
	}
	return nil
}

// ReadState reads the organization's CloudTrail integration: trusted access
// (with DateEnabled), the service-linked role, CloudTrail's delegated
// administrators and, when a trail is managed, the trail (found by name in
// whichever region is its home) and its bucket's policy.
func (a *Activities) ReadState(ctx context.Context, in OrgInput) (State, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return State{}, err
	}
	out, err := describeOrganization(ctx, c, in)
	if err != nil {
		return State{}, err
	}
	return readState(ctx, c, in, out)
}

// readState is ReadState with the organization's clients and what
// DescribeOrganization answered.
func readState(ctx context.Context, c *awsclient.Clients, in OrgInput, out *organizations.DescribeOrganizationOutput) (State, error) {
	var err error
	st := State{
		OrganizationID:      aws.ToString(out.Organization.Id),
		ManagementAccountID: aws.ToString(out.Organization.MasterAccountId),
	}
	if st.TrustedAccess, st.DateEnabled, err = trustedAccess(ctx, c); err != nil {
		return State{}, awsError(fmt.Sprintf("list trusted services of organization %s", orgLabel(in)), err)
	}
	if st.ServiceLinkedRole, err = roleExists(ctx, c); err != nil {
		return State{}, awsError(fmt.Sprintf("read role %s in organization %s", ServiceLinkedRoleName, orgLabel(in)), err)
	}
	if st.DelegatedAdministrators, err = delegatedAdministrators(ctx, c); err != nil {
		return State{}, awsError(fmt.Sprintf("list CloudTrail delegated administrators of organization %s", orgLabel(in)), err)
	}
	if in.Trail.Name == "" {
		return st, nil
	}
	if st.Trail, err = findTrail(ctx, c, in.Trail.Name); err != nil {
		return State{}, awsError(fmt.Sprintf("find trail %s in organization %s", in.Trail.Name, orgLabel(in)), err)
	}
	// The policy that matters is that of the bucket the trail logs to; a
	// trail still to be created will log to trail.bucket.
	arn, bucket := trailARN(c.Region, st.ManagementAccountID, in.Trail.Name), in.Trail.Bucket
	if st.Trail != nil {
		arn, bucket = st.Trail.ARN, st.Trail.Bucket
	}
	if st.BucketPolicyReady, err = bucketPolicyReady(ctx, c, bucket, st.ManagementAccountID, st.OrganizationID, arn); err != nil {
		return State{}, awsError(fmt.Sprintf("read the policy of bucket %s", bucket), err)
	}
	return st, nil
}

// TakeInventory lists what disabling trusted access would affect:
// organization trails of every region, CloudTrail Lake organization event
// data stores of every region in aws.regions (and aws.region) that is
// enabled, and CloudTrail's delegated administrators.
func (a *Activities) TakeInventory(ctx context.Context, in OrgInput) (Inventory, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Inventory{}, err
	}
	inv := Inventory{OrganizationTrails: []TrailState{}, EventDataStores: []string{}, DelegatedAdministrators: []string{}, Regions: []string{}}
	trails, err := listTrails(ctx, c)
	if err != nil {
		return Inventory{}, awsError(fmt.Sprintf("list trails of organization %s", orgLabel(in)), err)
	}
	for _, arn := range trails {
		t, err := readTrail(ctx, c, arn)
		if err != nil {
			return Inventory{}, awsError(fmt.Sprintf("read trail %s", arn), err)
		}
		if t != nil && t.IsOrganizationTrail {
			inv.OrganizationTrails = append(inv.OrganizationTrails, *t)
		}
	}
	for _, region := range a.inventoryRegions(c.Region) {
		stores, err := organizationEventDataStores(ctx, c, region)
		if region != c.Region && regionNotEnabled(err) {
			inv.SkippedRegions = append(inv.SkippedRegions, region)
			continue
		}
		if err != nil {
			return Inventory{}, awsError(fmt.Sprintf("list event data stores of organization %s in %s", orgLabel(in), region), err)
		}
		inv.Regions = append(inv.Regions, region)
		inv.EventDataStores = append(inv.EventDataStores, stores...)
	}
	admins, err := delegatedAdministrators(ctx, c)
	if err != nil {
		return Inventory{}, awsError(fmt.Sprintf("list CloudTrail delegated administrators of organization %s", orgLabel(in)), err)
	}
	inv.DelegatedAdministrators = append(inv.DelegatedAdministrators, admins...)
	return inv, nil
}

// inventoryRegions are the authority's regions, in order, and the clients'
// own region when they do not name it.
func (a *Activities) inventoryRegions(home string) []string {
	regions := make([]string, 0, len(a.authority.Regions)+1)
	for _, r := range a.authority.Regions {
		if r != "" && !slices.Contains(regions, r) {
			regions = append(regions, r)
		}
	}
	if !slices.Contains(regions, home) {
		regions = append(regions, home)
	}
	return regions
}

// organizationEventDataStores lists the organization event data stores of
// one region.
func organizationEventDataStores(ctx context.Context, c *awsclient.Clients, region string) ([]string, error) {
	ct := c.CloudTrailIn(region)
	stores := []string{}
	var next *string
	for {
		page, err := ct.ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{NextToken: next})
		if err != nil {
			return nil, err
		}
		for _, s := range page.EventDataStores {
			eds, err := ct.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: s.EventDataStoreArn})
			if err != nil {
				return nil, fmt.Errorf("read event data store %s: %w", aws.ToString(s.EventDataStoreArn), err)
			}
			if aws.ToBool(eds.OrganizationEnabled) {
				stores = append(stores, aws.ToString(eds.EventDataStoreArn))
			}
		}
		if next = page.NextToken; next == nil {
			return stores, nil
		}
	}
}

// delegatedAdministrators lists CloudTrail's delegated administrator
// accounts, following every page.
func delegatedAdministrators(ctx context.Context, c *awsclient.Clients) ([]string, error) {
	p := organizations.NewListDelegatedAdministratorsPaginator(c.Organizations,
		&organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String(ServicePrincipal)})
	return collectPages(ctx, p.HasMorePages, p.NextPage, func(page *organizations.ListDelegatedAdministratorsOutput) (ids []string) {
		for _, d := range page.DelegatedAdministrators {
			ids = append(ids, aws.ToString(d.Id))
		}
		return ids
	})
}

// listTrails lists the ARNs of the account's trails of every region:
// ListTrails answers from any region with each trail's home region.
func listTrails(ctx context.Context, c *awsclient.Clients) ([]string, error) {
	var arns []string
	p := cloudtrail.NewListTrailsPaginator(c.CloudTrail, &cloudtrail.ListTrailsInput{})
	err := eachPage(ctx, p.HasMorePages, p.NextPage, func(page *cloudtrail.ListTrailsOutput) {
		for _, t := range page.Trails {
			arns = append(arns, aws.ToString(t.TrailARN))
		}
	})
	return arns, err
}

// findTrail finds the account's trail with the name in whichever region is
// its home, and reads it there; nil when there is none. A name used by
// trails of several regions (each single-region) is the one of the
// clients' region, else the first by ARN.
func findTrail(ctx context.Context, c *awsclient.Clients, name string) (*TrailState, error) {
	arns, err := listTrails(ctx, c)
	if err != nil {
		return nil, err
	}
	var named []string
	for _, arn := range arns {
		if trailName(arn) == name {
			named = append(named, arn)
		}
	}
	if len(named) == 0 {
		return nil, nil
	}
	slices.Sort(named)
	for _, arn := range named {
		if regionOf(arn) == c.Region {
			return readTrail(ctx, c, arn)
		}
	}
	return readTrail(ctx, c, named[0])
}

// readTrail reads a trail and its logging status by ARN, in the trail's
// home region (the ARN's), where even a single-region trail answers; nil
// when it does not exist.
func readTrail(ctx context.Context, c *awsclient.Clients, arn string) (*TrailState, error) {
	ct := c.CloudTrailIn(regionOf(arn))
	out, err := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if isCode(err, "TrailNotFoundException") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	status, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
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
		Bucket:              aws.ToString(t.S3BucketName),
		OwnerHint:           ownerHint(aws.ToString(t.Name)),
	}, nil
}
