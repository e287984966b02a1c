package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
)

// organization is one organization of the rollouts, and how the harness
// reads it back: as its management account, through the AWS SDK, never
// through trailgate.
type organization struct {
	config.Organization
	management aws.Config
}

// sharedProfile loads an AWS profile of the dev default's shared files, as
// a person or the AWS CLI would.
func sharedProfile(ctx context.Context, c config.AWS, profile string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithSharedConfigFiles([]string{c.ConfigFile}),
		awsconfig.WithSharedCredentialsFiles([]string{c.CredentialsFile}),
		awsconfig.WithSharedConfigProfile(profile))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS profile %s from %s: %w", profile, c.ConfigFile, err)
	}
	return cfg, nil
}

// devOrganizations are the organizations the dev default seeded, each read
// through the profile the dev default wrote for its management account.
func devOrganizations(ctx context.Context, cfg config.Config) ([]organization, error) {
	orgs := make([]organization, 0, len(cfg.Organizations))
	for _, o := range cfg.Organizations {
		mgmt, err := sharedProfile(ctx, cfg.AWS, o.Name+"-management")
		if err != nil {
			return nil, fmt.Errorf("read organization %s back: %w", o.Name, err)
		}
		orgs = append(orgs, organization{Organization: o, management: mgmt})
	}
	return orgs, nil
}

// addOrganizations gives the stopped dev default's sandbox n more
// organizations named chaos-<k>, numbered after the first organizations
// ones, each with the role the dev default's operator account assumes. It
// works on the sandbox's state file, through the sandbox's own Go API, so
// the dev default must not be running.
func addOrganizations(ctx context.Context, dataDir string, cfg config.Config, first, n int) ([]organization, error) {
	operatorCfg, err := sharedProfile(ctx, cfg.AWS, cfg.AWS.Profile)
	if err != nil {
		return nil, err
	}
	operatorKey, err := operatorCfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the operator's key from profile %s: %w", cfg.AWS.Profile, err)
	}
	s, err := awssandbox.New(awssandbox.Options{StateFile: filepath.Join(dataDir, awssandbox.DevStateFile)})
	if err != nil {
		return nil, err
	}
	accounts := s.Accounts()
	i := slices.IndexFunc(accounts, func(a awssandbox.Account) bool { return a.AccessKeyID == operatorKey.AccessKeyID })
	if i < 0 {
		return nil, fmt.Errorf("no sandbox account holds the key of profile %s", cfg.AWS.Profile)
	}
	operator := accounts[i]

	orgs := make([]organization, 0, n)
	for k := first + 1; k <= first+n; k++ {
		name := fmt.Sprintf("chaos-%02d", k)
		org, err := s.CreateOrganization(awssandbox.OrganizationSpec{Name: name, FeatureSet: "ALL", Members: 1})
		if err != nil {
			return nil, fmt.Errorf("add organization %s to the sandbox: %w", name, err)
		}
		externalID := "trailgate-" + name
		role, err := s.CreateRole(awssandbox.RoleSpec{
			AccountID:        org.Management.ID,
			Name:             awssandbox.DevRoleName,
			TrustedAccountID: operator.ID,
			ExternalID:       externalID,
			Description:      "Lets the trailgate operator account manage CloudTrail trusted access.",
		})
		if err != nil {
			return nil, fmt.Errorf("add the operator role to organization %s: %w", name, err)
		}
		mgmt := operatorCfg.Copy()
		mgmt.Credentials = credentials.NewStaticCredentialsProvider(org.Management.AccessKeyID, org.Management.SecretAccessKey, "")
		orgs = append(orgs, organization{
			Organization: config.Organization{Name: name, ManagementAccountID: org.Management.ID, RoleARN: role, ExternalID: externalID},
			management:   mgmt,
		})
	}
	return orgs, nil
}

// trustedAccess reads whether the organization trusts CloudTrail.
func (o organization) trustedAccess(ctx context.Context) (bool, error) {
	p := organizations.NewListAWSServiceAccessForOrganizationPaginator(organizations.NewFromConfig(o.management), &organizations.ListAWSServiceAccessForOrganizationInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("list trusted services of organization %s: %w", o.Name, err)
		}
		for _, s := range page.EnabledServicePrincipals {
			if aws.ToString(s.ServicePrincipal) == activities.ServicePrincipal {
				return true, nil
			}
		}
	}
	return false, nil
}

// trailLogging reads whether the organization trail named name exists in
// the management account and logs.
func (o organization) trailLogging(ctx context.Context, name string) (bool, error) {
	ct := cloudtrail.NewFromConfig(o.management)
	out, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	if err != nil {
		return false, fmt.Errorf("describe trails of organization %s: %w", o.Name, err)
	}
	for _, t := range out.TrailList {
		if aws.ToString(t.Name) != name || !aws.ToBool(t.IsOrganizationTrail) {
			continue
		}
		status, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN})
		if err != nil {
			return false, fmt.Errorf("read status of trail %s: %w", aws.ToString(t.TrailARN), err)
		}
		return aws.ToBool(status.IsLogging), nil
	}
	return false, nil
}
