// Package awsclient builds the AWS SDK clients trailgate uses for one
// organization: credentials from the organization's role (through STS, with
// its external ID) or the default chain, Organizations pinned to us-east-1,
// and the endpoint override honoured for every service.
package awsclient

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/config"
)

// OrganizationsRegion is where AWS Organizations is served from: it is a
// global service, and its client must be pinned there.
const OrganizationsRegion = "us-east-1"

// roleSessionName names the sessions trailgate opens in management accounts,
// so that CloudTrail shows who acted.
const roleSessionName = "trailgate"

// Clients are the AWS clients for one organization's management account.
type Clients struct {
	STS           *sts.Client
	Organizations *organizations.Client
	CloudTrail    *cloudtrail.Client
	IAM           *iam.Client
	S3            *s3.Client
	// Region is the home region of CloudTrail, IAM and S3 calls.
	Region string
}

// Factory builds and caches Clients per organization. It is safe for
// concurrent use; clients of one organization share a credentials cache, so
// a role is assumed once per session lifetime, not once per call.
type Factory struct {
	base aws.Config

	mu      sync.Mutex
	clients map[string]*Clients
}

// NewFactory loads the base AWS configuration: the default credential chain
// (optionally from the configured profile and shared files), the configured
// region, and the endpoint override when one is configured (the SDK reads
// AWS_ENDPOINT_URL by itself).
func NewFactory(ctx context.Context, cfg config.AWS) (*Factory, error) {
	opts := []func(*awsconfig.LoadOptions) error{}
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.ConfigFile != "" {
		opts = append(opts, awsconfig.WithSharedConfigFiles([]string{cfg.ConfigFile}))
	}
	if cfg.CredentialsFile != "" {
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{cfg.CredentialsFile}))
	}
	if cfg.EndpointURL != "" {
		opts = append(opts, awsconfig.WithBaseEndpoint(cfg.EndpointURL))
	}
	base, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return NewFactoryFromConfig(base), nil
}

// NewFactoryFromConfig builds a factory on a loaded AWS configuration: its
// credentials are the base from which organizations' roles are assumed.
func NewFactoryFromConfig(base aws.Config) *Factory {
	if base.Region == "" {
		base.Region = OrganizationsRegion
	}
	return &Factory{base: base, clients: map[string]*Clients{}}
}

// ForOrganization returns the clients that act in org's management account.
func (f *Factory) ForOrganization(ctx context.Context, org config.Organization) (*Clients, error) {
	key := org.Name + "\x00" + org.RoleARN + "\x00" + org.ExternalID
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[key]; ok {
		return c, nil
	}
	cfg := f.base.Copy()
	if org.RoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(f.base), org.RoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = roleSessionName
				if org.ExternalID != "" {
					o.ExternalID = aws.String(org.ExternalID)
				}
			})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	orgsCfg := cfg.Copy()
	orgsCfg.Region = OrganizationsRegion
	pathStyle := f.base.BaseEndpoint != nil
	c := &Clients{
		STS:           sts.NewFromConfig(cfg),
		Organizations: organizations.NewFromConfig(orgsCfg),
		CloudTrail:    cloudtrail.NewFromConfig(cfg),
		IAM:           iam.NewFromConfig(cfg),
		// An endpoint override (a local AWS) rarely resolves virtual-hosted
		// bucket names, so buckets are addressed by path there.
		S3:     s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }),
		Region: cfg.Region,
	}
	f.clients[key] = c
	return c, nil
}
