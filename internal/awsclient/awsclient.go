// Package awsclient builds the AWS SDK clients trailgate uses for one
// organization: credentials from the organization's role (through STS, with
// its external ID) or the default chain, Organizations pinned to us-east-1,
// and the endpoint override honoured for every service.
package awsclient

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/config"
)

// OrganizationsRegion is where AWS Organizations is served from: it is a
// global service, and its client must be pinned there.
const OrganizationsRegion = "us-east-1"

// defaultSessionName names the sessions trailgate opens in management
// accounts when they act for no change (the drift audit, doctor).
const defaultSessionName = "trailgate"

// Session is what a role session in a management account says about the
// change it acts for. CloudTrail logs the role session name with every call
// (userIdentity.arn, and the Username of LookupEvents) and the source
// identity as userIdentity.sessionContext.sourceIdentity, so that the very
// log trailgate protects says which change and which person made a call.
//
// Where an organization has no role_arn, the worker acts with its default
// credentials and no role session is opened: the session cannot be named,
// and CloudTrail shows the default credentials' identity alone.
type Session struct {
	// ChangeID is the change the session acts for; empty for none.
	ChangeID string
	// SourceIdentity is the requester's verified name; empty for none.
	SourceIdentity string
}

// Name is the role session name: "tg-" and the change ID, in AWS's alphabet
// for session names ([\w+=,.@-], any other character becoming "-") and
// within its 64 characters; "trailgate" when the session acts for no
// change.
func (s Session) Name() string {
	if s.ChangeID == "" {
		return defaultSessionName
	}
	return sessionAlphabet("tg-" + s.ChangeID)
}

// Identity is the source identity as STS accepts it (the alphabet of
// session names, 2 to 64 characters), or empty when there is none.
func (s Session) Identity() string {
	if s.SourceIdentity == "" {
		return ""
	}
	id := sessionAlphabet(s.SourceIdentity)
	if len(id) < 2 {
		id += "-"
	}
	return id
}

// maxSessionName is AWS's limit on role session names and source
// identities.
const maxSessionName = 64

// sessionAlphabet replaces every character outside [\w+=,.@-] with "-" and
// trims the result to 64 characters.
func sessionAlphabet(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() == maxSessionName {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_+=,.@-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Clients are the AWS clients for one organization's management account,
// acting in one session.
type Clients struct {
	STS           *sts.Client
	Organizations *organizations.Client
	// CloudTrail is CloudTrail in Region; CloudTrailIn reaches other
	// regions, where trails have their home and event data stores live.
	CloudTrail *cloudtrail.Client
	IAM        *iam.Client
	S3         *s3.Client
	// Region is the home region of CloudTrail, IAM and S3 calls.
	Region string
	// SessionName is the role session name the clients act under, and the
	// one a role assumed from them (InRole) is given.
	SessionName string

	cfg       aws.Config
	pathStyle bool

	mu         sync.Mutex
	cloudTrail map[string]*cloudtrail.Client
	roles      map[string]*Clients
}

// newClients builds the clients of one set of credentials.
func newClients(cfg aws.Config, sessionName string, pathStyle bool) *Clients {
	orgsCfg := cfg.Copy()
	orgsCfg.Region = OrganizationsRegion
	c := &Clients{
		STS:           sts.NewFromConfig(cfg),
		Organizations: organizations.NewFromConfig(orgsCfg),
		CloudTrail:    cloudtrail.NewFromConfig(cfg),
		IAM:           iam.NewFromConfig(cfg),
		// An endpoint override (a local AWS) rarely resolves virtual-hosted
		// bucket names, so buckets are addressed by path there.
		S3:          s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }),
		Region:      cfg.Region,
		SessionName: sessionName,
		cfg:         cfg,
		pathStyle:   pathStyle,
		cloudTrail:  map[string]*cloudtrail.Client{},
		roles:       map[string]*Clients{},
	}
	c.cloudTrail[cfg.Region] = c.CloudTrail
	return c
}

// CloudTrailIn is CloudTrail in region, with the same credentials. A trail
// is changed, and a single-region trail read, only in its home region.
func (c *Clients) CloudTrailIn(region string) *cloudtrail.Client {
	if region == "" {
		return c.CloudTrail
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ct, ok := c.cloudTrail[region]; ok {
		return ct
	}
	ct := cloudtrail.NewFromConfig(c.cfg, func(o *cloudtrail.Options) { o.Region = region })
	c.cloudTrail[region] = ct
	return ct
}

// InRole returns the clients that act through roleARN, assumed from these
// clients' session (role chaining) under the same session name. AWS carries
// the session's source identity into the chained session by itself. The
// role is assumed on the first call, so that an AssumeRole refused shows as
// the failure of that call.
func (c *Clients) InRole(roleARN string) *Clients {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.roles[roleARN]; ok {
		return r
	}
	cfg := c.cfg.Copy()
	cfg.Credentials = renewed(stscreds.NewAssumeRoleProvider(c.STS, roleARN,
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = c.SessionName }))
	r := newClients(cfg, c.SessionName, c.pathStyle)
	c.roles[roleARN] = r
	return r
}

// renewBefore is how long before they expire assumed credentials are
// renewed. A call signed with credentials about to expire reached AWS
// after they had, and was refused with ExpiredToken: an audit or a change
// of thousands of calls, running for longer than the 15 minutes assumed
// credentials last, met it now and then.
const renewBefore = 2 * time.Minute

// renewed caches the credentials of provider, renewing them renewBefore
// they expire.
func renewed(provider aws.CredentialsProvider) *aws.CredentialsCache {
	return aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = renewBefore })
}

// Factory builds and caches Clients per organization and session. It is
// safe for concurrent use; clients of one organization share a credentials
// cache, so a role is assumed once per session lifetime, not once per call.
//
// Every change and every audit is a session of its own, so the cache is
// bounded: clients unused for ClientsIdle are dropped, and beyond
// MaxClients the least recently used go first (each set holds about 30 KB:
// 1,000 organizations take 30 MB per change or audit, which a worker
// running for weeks would otherwise keep).
type Factory struct {
	base aws.Config
	now  func() time.Time

	mu      sync.Mutex
	clients map[string]*cachedClients
	swept   time.Time
}

// ClientsIdle is how long a Factory keeps clients nobody asked for: longer
// than an organization's steps take between two calls, shorter than the
// hour an assumed role's credentials last.
const ClientsIdle = 15 * time.Minute

// MaxClients is how many sets of clients a Factory keeps at most: two
// changes or audits over 10,000 organizations at once.
const MaxClients = 20000

type cachedClients struct {
	clients *Clients
	used    time.Time
}

// maxIdleConnsPerHost is how many connections to one AWS endpoint the
// clients keep open between calls. The AWS SDK keeps 10, but a worker runs
// hundreds of organizations' calls at once: past the tenth, every call
// opened a connection and closed it after, and at 1,000 organizations the
// dev default held some 2,000 connections' buffers at a time.
const maxIdleConnsPerHost = 256

// NewFactory loads the base AWS configuration: the default credential chain
// (optionally from the configured profile and shared files), the configured
// region, and the endpoint override when one is configured (the SDK reads
// AWS_ENDPOINT_URL by itself). Every call is counted through calls, unless
// it is nil.
func NewFactory(ctx context.Context, cfg config.AWS, calls client.MetricsHandler) (*Factory, error) {
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
	opts = append(opts, awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = maxIdleConnsPerHost * 8
		t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	})))
	base, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return NewFactoryFromConfig(base, calls), nil
}

// NewFactoryFromConfig builds a factory on a loaded AWS configuration: its
// credentials are the base from which organizations' roles are assumed.
// Every call of every client it builds, and every AssumeRole for them, is
// counted through calls, unless it is nil.
func NewFactoryFromConfig(base aws.Config, calls client.MetricsHandler) *Factory {
	if base.Region == "" {
		base.Region = OrganizationsRegion
	}
	if calls != nil {
		base = base.Copy()
		base.APIOptions = append(base.APIOptions, countCalls(calls))
	}
	return &Factory{base: base, now: time.Now, clients: map[string]*cachedClients{}}
}

// ForOrganization returns the clients that act in org's management account
// in session s: through org's role, assumed with the session's name and
// source identity, or, without a role, with the default credentials, which
// name no session.
func (f *Factory) ForOrganization(ctx context.Context, org config.Organization, s Session) (*Clients, error) {
	name, identity := s.Name(), s.Identity()
	key := cacheKey(org, name, identity)
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if c, ok := f.clients[key]; ok {
		c.used = now
		return c.clients, nil
	}
	f.sweep(now)
	cfg := f.base.Copy()
	if org.RoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(f.base), org.RoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = name
				if identity != "" {
					o.SourceIdentity = aws.String(identity)
				}
				if org.ExternalID != "" {
					o.ExternalID = aws.String(org.ExternalID)
				}
			})
		cfg.Credentials = renewed(provider)
	}
	c := newClients(cfg, name, f.base.BaseEndpoint != nil)
	f.clients[key] = &cachedClients{clients: c, used: now}
	return c, nil
}

// cacheKey says which clients serve org in the session of that name and
// source identity.
func cacheKey(org config.Organization, name, identity string) string {
	return strings.Join([]string{org.Name, org.RoleARN, org.ExternalID, name, identity}, "\x00")
}

// sweep drops the clients idle for ClientsIdle, at most once a minute and,
// when MaxClients are kept, the least recently used quarter of them.
func (f *Factory) sweep(now time.Time) {
	if now.Sub(f.swept) >= time.Minute {
		f.swept = now
		for key, c := range f.clients {
			if now.Sub(c.used) >= ClientsIdle {
				delete(f.clients, key)
			}
		}
	}
	if len(f.clients) < MaxClients {
		return
	}
	keys := make([]string, 0, len(f.clients))
	for key := range f.clients {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool { return f.clients[keys[i]].used.Before(f.clients[keys[j]].used) })
	for _, key := range keys[:len(keys)-MaxClients*3/4] {
		delete(f.clients, key)
	}
}
