// Package config holds trailgate's configuration: one struct with defaults,
// loaded once (file, TRAILGATE_* environment, flags), validated once, and passed
// down as a value. Workflows receive the parts they need as input; they never
// read the environment.
package config

import (
	"strings"
	"time"
)

// Config is the whole of trailgate's configuration. The mapstructure tags are the
// keys users write in YAML and, upper-cased with dots as underscores and the
// TRAILGATE_ prefix, in the environment (temporal.address is
// TRAILGATE_TEMPORAL_ADDRESS).
type Config struct {
	Temporal      Temporal       `mapstructure:"temporal" yaml:"temporal" json:"temporal"`
	AWS           AWS            `mapstructure:"aws" yaml:"aws" json:"aws"`
	Organizations []Organization `mapstructure:"organizations" yaml:"organizations" json:"organizations"`
	// People maps the people named in approvals to the AWS principals that
	// prove them.
	People    []Person  `mapstructure:"people" yaml:"people" json:"people"`
	Identity  Identity  `mapstructure:"identity" yaml:"identity" json:"identity"`
	Trail     Trail     `mapstructure:"trail" yaml:"trail" json:"trail"`
	Approvals Approvals `mapstructure:"approvals" yaml:"approvals" json:"approvals"`
	// Notifications is the one place that announces reminders and drift.
	Notifications Notifications `mapstructure:"notifications" yaml:"notifications" json:"notifications"`
	Audit         Audit         `mapstructure:"audit" yaml:"audit" json:"audit"`
	Metrics       Metrics       `mapstructure:"metrics" yaml:"metrics" json:"metrics"`
	Log           Log           `mapstructure:"log" yaml:"log" json:"log"`
	Dev           Dev           `mapstructure:"dev" yaml:"dev" json:"dev"`
}

// Temporal says where the Temporal frontend is and how to reach it.
type Temporal struct {
	Address   string `mapstructure:"address" yaml:"address" json:"address"`
	Namespace string `mapstructure:"namespace" yaml:"namespace" json:"namespace"`
	TaskQueue string `mapstructure:"task_queue" yaml:"task_queue" json:"task_queue"`
	TLS       TLS    `mapstructure:"tls" yaml:"tls" json:"tls"`
	// APIKey authenticates to Temporal Cloud; it implies TLS.
	APIKey string `mapstructure:"api_key" yaml:"api_key,omitempty" json:"-"`
	// UIURL is the base of the Temporal UI, used to print links to changes.
	UIURL string `mapstructure:"ui_url" yaml:"ui_url" json:"ui_url"`
	// Compression is how calls to Temporal and their answers travel:
	// CompressionGzip or CompressionNone.
	Compression string `mapstructure:"compression" yaml:"compression" json:"compression"`
}

// The values of temporal.compression. Gzip spares a slow link, at the cost
// of CPU at both ends; the dev default's server runs in the same process,
// where gzip took a tenth of the CPU of a change over 1,000 organizations
// and spared nothing.
const (
	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// TLS configures TLS or mTLS to the Temporal frontend. A client certificate
// needs both CertFile and KeyFile.
type TLS struct {
	CertFile   string `mapstructure:"cert_file" yaml:"cert_file,omitempty" json:"cert_file,omitempty"`
	KeyFile    string `mapstructure:"key_file" yaml:"key_file,omitempty" json:"key_file,omitempty"`
	CAFile     string `mapstructure:"ca_file" yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	ServerName string `mapstructure:"server_name" yaml:"server_name,omitempty" json:"server_name,omitempty"`
}

// AWS configures the AWS SDK clients.
type AWS struct {
	// Region is the home region for CloudTrail, IAM and S3 calls.
	// Organizations is always called in us-east-1.
	Region string `mapstructure:"region" yaml:"region" json:"region"`
	// Regions are where the impact inventory looks for CloudTrail Lake
	// organization event data stores, which belong to one region each.
	// Empty means Region alone. Trails need no list: ListTrails names
	// every trail's home region.
	Regions []string `mapstructure:"regions" yaml:"regions,omitempty" json:"regions,omitempty"`
	// EndpointURL overrides every service endpoint (the AWS sandbox, for
	// example). The SDK's own AWS_ENDPOINT_URL is honoured too.
	EndpointURL string `mapstructure:"endpoint_url" yaml:"endpoint_url,omitempty" json:"endpoint_url,omitempty"`
	// Profile, ConfigFile and CredentialsFile select the base credentials of
	// the default chain (the SDK's AWS_PROFILE, AWS_CONFIG_FILE and
	// AWS_SHARED_CREDENTIALS_FILE). Empty means the SDK's own defaults.
	Profile         string `mapstructure:"profile" yaml:"profile,omitempty" json:"profile,omitempty"`
	ConfigFile      string `mapstructure:"config_file" yaml:"config_file,omitempty" json:"config_file,omitempty"`
	CredentialsFile string `mapstructure:"credentials_file" yaml:"credentials_file,omitempty" json:"credentials_file,omitempty"`
}

// Organization is one AWS organization that changes can target, reached
// through its management account.
type Organization struct {
	Name                string `mapstructure:"name" yaml:"name" json:"name"`
	ManagementAccountID string `mapstructure:"management_account_id" yaml:"management_account_id" json:"management_account_id"`
	// RoleARN, when set, is assumed (with ExternalID) to act in the
	// management account; otherwise the default credential chain is used.
	RoleARN    string `mapstructure:"role_arn" yaml:"role_arn,omitempty" json:"role_arn,omitempty"`
	ExternalID string `mapstructure:"external_id" yaml:"external_id,omitempty" json:"external_id,omitempty"`
	// Desired is the state the drift audit holds the organization to:
	// enabled, disabled or unmanaged. Empty means what trailgate last
	// verified for it.
	Desired string `mapstructure:"desired" yaml:"desired,omitempty" json:"desired,omitempty"`
	// ProbeAccountID names a member account in which, after an enable or
	// a rollback, trailgate checks that the organization trail is visible
	// as an organization trail, through ProbeRoleName. Empty: no probe.
	ProbeAccountID string `mapstructure:"probe_account_id" yaml:"probe_account_id,omitempty" json:"probe_account_id,omitempty"`
	// ProbeRoleName is the role assumed in the probe account from the
	// management account; empty means OrganizationAccountAccessRole.
	ProbeRoleName string `mapstructure:"probe_role_name" yaml:"probe_role_name,omitempty" json:"probe_role_name,omitempty"`
	// DelegatedAdministrators, when set, replace trail.delegated_administrators
	// for this organization: member accounts belong to one organization.
	DelegatedAdministrators []string `mapstructure:"delegated_administrators" yaml:"delegated_administrators,omitempty" json:"delegated_administrators,omitempty"`
}

// DelegatedAdministratorsOf are the accounts an enable registers as
// CloudTrail's delegated administrators in org.
func (t Trail) DelegatedAdministratorsOf(org Organization) []string {
	if len(org.DelegatedAdministrators) > 0 {
		return org.DelegatedAdministrators
	}
	return t.DelegatedAdministrators
}

// DefaultProbeRoleName is the role AWS Organizations creates in the member
// accounts it creates, trusted by the management account.
const DefaultProbeRoleName = "OrganizationAccountAccessRole"

// ProbeRole is the role the member-account probe assumes, or empty when
// the organization has no probe account.
func (o Organization) ProbeRole() string {
	if o.ProbeAccountID == "" {
		return ""
	}
	name := o.ProbeRoleName
	if name == "" {
		name = DefaultProbeRoleName
	}
	return "arn:aws:iam::" + o.ProbeAccountID + ":role/" + name
}

// InventoryRegions are the regions the impact inventory reads event data
// stores in: Regions, or Region alone.
func (a AWS) InventoryRegions() []string {
	if len(a.Regions) == 0 {
		return []string{a.Region}
	}
	return a.Regions
}

// The desired states an organization may declare.
const (
	DesiredEnabled   = "enabled"
	DesiredDisabled  = "disabled"
	DesiredUnmanaged = "unmanaged"
)

// Person is one person who may take decisions, and the AWS principals
// (exact ARNs, or patterns where * matches any run of characters) whose
// signed sts:GetCallerIdentity proves them.
type Person struct {
	Name       string   `mapstructure:"name" yaml:"name" json:"name"`
	Principals []string `mapstructure:"principals" yaml:"principals" json:"principals"`
}

// Identity says how people prove who they are.
type Identity struct {
	// AllowClaims accepts a name typed with --as, without proof; every
	// record entry then says "claimed, not verified". Off by default.
	AllowClaims bool `mapstructure:"allow_claims" yaml:"allow_claims" json:"allow_claims"`
	// ProofKeyFile is the worker's private key that opens people's sealed
	// proofs; the worker creates it when missing. Every worker of a task
	// queue shares the same file.
	ProofKeyFile string `mapstructure:"proof_key_file" yaml:"proof_key_file,omitempty" json:"proof_key_file,omitempty"`
	// WorkerKey is the worker's public key, to which the CLI seals proofs
	// (printed by trailgate-worker --print-proof-key).
	WorkerKey string `mapstructure:"worker_key" yaml:"worker_key,omitempty" json:"worker_key,omitempty"`
	// STSEndpoint is where proofs are signed for and verified; empty means
	// aws.endpoint_url when set, else AWS's global STS endpoint.
	STSEndpoint string `mapstructure:"sts_endpoint" yaml:"sts_endpoint,omitempty" json:"sts_endpoint,omitempty"`
}

// DefaultSTSEndpoint is AWS's global STS endpoint, served from us-east-1.
const DefaultSTSEndpoint = "https://sts.amazonaws.com"

// STSEndpoint is where proofs of identity are signed for and verified.
func (c Config) STSEndpoint() string {
	switch {
	case c.Identity.STSEndpoint != "":
		return c.Identity.STSEndpoint
	case c.AWS.EndpointURL != "":
		return c.AWS.EndpointURL
	}
	return DefaultSTSEndpoint
}

// Trail describes the organization trail trailgate manages when enabling.
// The trail is managed only when Name is set.
type Trail struct {
	Name string `mapstructure:"name" yaml:"name,omitempty" json:"name,omitempty"`
	// Bucket may hold {management_account_id} and {organization}, filled in
	// per organization: a bucket belongs to one account.
	Bucket            string `mapstructure:"bucket" yaml:"bucket,omitempty" json:"bucket,omitempty"`
	MultiRegion       bool   `mapstructure:"multi_region" yaml:"multi_region" json:"multi_region"`
	LogFileValidation bool   `mapstructure:"log_file_validation" yaml:"log_file_validation" json:"log_file_validation"`
	KMSKeyID          string `mapstructure:"kms_key_id" yaml:"kms_key_id,omitempty" json:"kms_key_id,omitempty"`
	// DelegatedAdministrators are member accounts an enable registers as
	// CloudTrail's delegated administrators (at most three, as AWS
	// allows). A disable never deregisters them: the CloudTrail
	// administrator does.
	DelegatedAdministrators []string `mapstructure:"delegated_administrators" yaml:"delegated_administrators,omitempty" json:"delegated_administrators,omitempty"`
}

// MaxDelegatedAdministrators is how many delegated administrators AWS lets
// CloudTrail have in one organization.
const MaxDelegatedAdministrators = 3

// Approvals is the policy at a change's gates.
type Approvals struct {
	// Required is how many distinct approvers a gate needs.
	Required int `mapstructure:"required" yaml:"required" json:"required"`
	// Approvers may approve or reject changes.
	Approvers []string `mapstructure:"approvers" yaml:"approvers" json:"approvers"`
	// CloudTrailAdmins may confirm CloudTrail-side cleanup before a disable.
	CloudTrailAdmins []string `mapstructure:"cloudtrail_admins" yaml:"cloudtrail_admins" json:"cloudtrail_admins"`
	// Timeout is how long a gate waits before the change ends as expired.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout" json:"timeout"`
	// ReminderEvery is how often people are reminded while a gate waits.
	ReminderEvery time.Duration `mapstructure:"reminder_every" yaml:"reminder_every" json:"reminder_every"`
	// WebhookURL is the deprecated name of notifications.webhook_url, which
	// wins when both are set.
	WebhookURL string `mapstructure:"webhook_url" yaml:"webhook_url,omitempty" json:"webhook_url,omitempty"`
}

// Notifications says where reminders and drift are announced.
type Notifications struct {
	// WebhookURL receives every notification as a POST; empty means log only.
	WebhookURL string `mapstructure:"webhook_url" yaml:"webhook_url,omitempty" json:"webhook_url,omitempty"`
	// Format is json (the notification as it is) or slack ({"text": ...}).
	Format string `mapstructure:"format" yaml:"format" json:"format"`
}

// The formats of notifications.
const (
	NotificationsJSON  = "json"
	NotificationsSlack = "slack"
)

// Webhook is where notifications go: notifications.webhook_url, else the
// deprecated approvals.webhook_url.
func (c Config) Webhook() string {
	if c.Notifications.WebhookURL != "" {
		return c.Notifications.WebhookURL
	}
	return c.Approvals.WebhookURL
}

// Audit configures the drift audit's schedule.
type Audit struct {
	// Every is how often the schedule audits every organization.
	Every time.Duration `mapstructure:"every" yaml:"every" json:"every"`
}

// Metrics configures the worker's Prometheus endpoint; empty disables it.
type Metrics struct {
	Address string `mapstructure:"address" yaml:"address,omitempty" json:"address,omitempty"`
}

// Log configures structured logging.
type Log struct {
	Level  string `mapstructure:"level" yaml:"level" json:"level"`    // debug, info, warn, error
	Format string `mapstructure:"format" yaml:"format" json:"format"` // text or json
}

// Dev configures the embedded default (trailgate-worker --dev).
type Dev struct {
	DataDir      string `mapstructure:"data_dir" yaml:"data_dir" json:"data_dir"`
	TemporalPort int    `mapstructure:"temporal_port" yaml:"temporal_port" json:"temporal_port"`
	UIPort       int    `mapstructure:"ui_port" yaml:"ui_port" json:"ui_port"`
	SandboxPort  int    `mapstructure:"sandbox_port" yaml:"sandbox_port" json:"sandbox_port"`
	// Organizations is how many sandbox organizations a fresh data
	// directory is seeded with, each with its role and members.
	Organizations int `mapstructure:"organizations" yaml:"organizations" json:"organizations"`
	// Trail says whether the embedded default manages its demo
	// organization trail when trail.name names none.
	Trail bool `mapstructure:"trail" yaml:"trail" json:"trail"`
}

// MaxDevOrganizations bounds dev.organizations: enough for trying
// trailgate at production scale on one machine.
const MaxDevOrganizations = 10000

// Default returns the configuration used when nothing else is said: the
// embedded default's addresses and a conservative approval policy.
func Default() Config {
	return Config{
		Temporal: Temporal{
			Address:   "127.0.0.1:7233",
			Namespace: "default",
			TaskQueue: "trailgate",
			UIURL:     "http://127.0.0.1:8233",
			// The Temporal SDK's own default.
			Compression: CompressionGzip,
		},
		AWS: AWS{Region: "us-east-1"},
		Trail: Trail{
			MultiRegion:       true,
			LogFileValidation: true,
		},
		Approvals: Approvals{
			Required:      1,
			Timeout:       7 * 24 * time.Hour,
			ReminderEvery: 24 * time.Hour,
		},
		Notifications: Notifications{Format: NotificationsJSON},
		Audit:         Audit{Every: 6 * time.Hour},
		Log:           Log{Level: "info", Format: "text"},
		Dev: Dev{
			DataDir:       ".trailgate",
			TemporalPort:  7233,
			UIPort:        8233,
			SandboxPort:   4566,
			Organizations: 3,
			Trail:         true,
		},
	}
}

// Placeholders that trail.bucket may hold, so that each organization's trail
// logs to a bucket of its own management account.
const (
	BucketAccountPlaceholder = "{management_account_id}"
	BucketNamePlaceholder    = "{organization}"
)

// BucketFor is the trail bucket of one organization: Bucket with its
// placeholders filled in.
func (t Trail) BucketFor(org Organization) string {
	return strings.NewReplacer(BucketAccountPlaceholder, org.ManagementAccountID, BucketNamePlaceholder, org.Name).Replace(t.Bucket)
}

// For is the trail as one organization manages it.
func (t Trail) For(org Organization) Trail {
	t.Bucket = t.BucketFor(org)
	return t
}
