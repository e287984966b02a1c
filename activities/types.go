package activities

import (
	"time"
)

// OrgInput names the organization an activity acts on, as the worker
// resolved it when the change started, and, when enabling, the trail it
// manages. It holds no role, external ID or credential: the activity looks
// those up in the worker's own configuration by name.
type OrgInput struct {
	Organization string `json:"organization"`
	// ManagementAccountID is the management account the organization had in
	// the worker's configuration when the change started; an activity
	// refuses to act when the configuration now says otherwise.
	ManagementAccountID string        `json:"management_account_id"`
	Trail               TrailSettings `json:"trail"`
	// ProbeRoleARN is the role in a member account through which the
	// member-account probe looks at the organization trail; empty: no probe.
	ProbeRoleARN string `json:"probe_role_arn,omitempty"`
	// Session names trailgate's AWS session after the change, so that
	// CloudTrail's own log says which change and which person made a call.
	Session Session `json:"session,omitempty"`
}

// Session is what trailgate's role session in a management account says
// about the change it acts for.
type Session struct {
	// ChangeID becomes the role session name (trimmed to AWS's limit and
	// alphabet).
	ChangeID string `json:"change_id,omitempty"`
	// SourceIdentity is the requester's verified identity (a person's
	// name), set as the session's sts:SourceIdentity.
	SourceIdentity string `json:"source_identity,omitempty"`
}

// TrailSettings describe the organization trail trailgate manages when
// enabling, resolved for one organization (the bucket's placeholders filled
// in). The trail is managed only when Name is set.
type TrailSettings struct {
	Name              string `json:"name,omitempty"`
	Bucket            string `json:"bucket,omitempty"`
	MultiRegion       bool   `json:"multi_region"`
	LogFileValidation bool   `json:"log_file_validation"`
	KMSKeyID          string `json:"kms_key_id,omitempty"`
	// DelegatedAdministrators are the member accounts an enable registers
	// as CloudTrail's delegated administrators.
	DelegatedAdministrators []string `json:"delegated_administrators,omitempty"`
}

// Identity is who the credentials act as, and the organization they are in.
type Identity struct {
	AccountID           string `json:"account_id"`
	ARN                 string `json:"arn"`
	OrganizationID      string `json:"organization_id"`
	ManagementAccountID string `json:"management_account_id"`
	FeatureSet          string `json:"feature_set"`
}

// State is what AWS says about one organization's CloudTrail integration.
type State struct {
	OrganizationID      string     `json:"organization_id"`
	ManagementAccountID string     `json:"management_account_id"`
	TrustedAccess       bool       `json:"trusted_access"`
	DateEnabled         *time.Time `json:"date_enabled,omitempty"`
	ServiceLinkedRole   bool       `json:"service_linked_role"`
	// Trail is the managed trail when one is configured and it exists.
	Trail *TrailState `json:"trail,omitempty"`
	// BucketPolicyReady says the managed trail's bucket exists with the
	// organization-trail policy.
	BucketPolicyReady bool `json:"bucket_policy_ready"`
	// DelegatedAdministrators are CloudTrail's registered delegated
	// administrator accounts.
	DelegatedAdministrators []string `json:"delegated_administrators,omitempty"`
}

// TrailState is one trail as CloudTrail reports it.
type TrailState struct {
	Name                string `json:"name"`
	ARN                 string `json:"arn"`
	HomeRegion          string `json:"home_region"`
	IsOrganizationTrail bool   `json:"is_organization_trail"`
	IsLogging           bool   `json:"is_logging"`
	// Bucket is the S3 bucket the trail delivers to.
	Bucket string `json:"bucket,omitempty"`
	// OwnerHint names the tool that seems to own the trail (Control Tower,
	// Landing Zone Accelerator, Terraform), or is empty.
	OwnerHint string `json:"owner_hint,omitempty"`
}

// Inventory is what a disable would affect in one organization.
type Inventory struct {
	OrganizationTrails []TrailState `json:"organization_trails"`
	// EventDataStores are CloudTrail Lake organization event data stores (ARNs).
	EventDataStores []string `json:"event_data_stores"`
	// DelegatedAdministrators are CloudTrail's delegated administrator accounts.
	DelegatedAdministrators []string `json:"delegated_administrators"`
	// Regions are where event data stores were looked for.
	Regions []string `json:"regions,omitempty"`
	// SkippedRegions are regions of aws.regions where CloudTrail does not
	// answer because the region is not enabled for the account: no event
	// data store can live there.
	SkippedRegions []string `json:"skipped_regions,omitempty"`
}

// Empty reports whether nothing depends on trusted access.
func (i Inventory) Empty() bool {
	return len(i.OrganizationTrails) == 0 && len(i.EventDataStores) == 0 && len(i.DelegatedAdministrators) == 0
}

// TrailARNs lists the ARNs of the inventory's organization trails.
func (i Inventory) TrailARNs() []string {
	return mapped(i.OrganizationTrails, func(t TrailState) string { return t.ARN })
}

// Evidence is what verification read back from AWS.
type Evidence struct {
	At                time.Time    `json:"at"`
	TrustedAccess     bool         `json:"trusted_access"`
	DateEnabled       *time.Time   `json:"date_enabled,omitempty"`
	ServiceLinkedRole bool         `json:"service_linked_role"`
	Trails            []TrailState `json:"trails,omitempty"`
	// DelegatedAdministrators are CloudTrail's delegated administrators, as
	// listed, when verification was asked to see some.
	DelegatedAdministrators []string `json:"delegated_administrators,omitempty"`
	// Checks is how many reads it took until AWS showed the desired state.
	Checks int `json:"checks"`
	// Notes say what AWS documents about the result, for the record.
	Notes []string `json:"notes,omitempty"`
}

// Mutation is what one mutating activity asked of AWS.
type Mutation struct {
	Calls []Call `json:"calls"`
}

// Call is one AWS request a mutation made, as CloudTrail will log it.
type Call struct {
	// Operation is the API's name, such as EnableAWSServiceAccess.
	Operation string `json:"operation"`
	// Service is the event source, such as organizations.amazonaws.com.
	Service string    `json:"service"`
	Region  string    `json:"region"`
	At      time.Time `json:"at"`
	// RequestID is the request ID AWS answered with.
	RequestID string `json:"request_id"`
}

// TrailMutation is what EnsureOrganizationTrail left the managed trail as,
// and the calls it made to get there.
type TrailMutation struct {
	// TrailState is embedded, so that the trail reads as a TrailState
	// too: workflows started before mutations returned their calls
	// decode it so.
	TrailState
	Mutation
}

// EventsInput asks CloudTrail's LookupEvents for the events of a change's
// calls.
type EventsInput struct {
	OrgInput
	Calls []Call `json:"calls"`
}

// Event is one call's management event, as LookupEvents returns it.
type Event struct {
	Call
	EventID        string `json:"event_id"`
	Username       string `json:"username"`
	SourceIdentity string `json:"source_identity,omitempty"`
}

// Events are the events found, and the calls whose events LookupEvents does
// not show yet (CloudTrail delivers within about 15 minutes).
type Events struct {
	Found   []Event `json:"found"`
	Missing []Call  `json:"missing,omitempty"`
}

// MemberProbe is what a member account sees of the organization trail.
type MemberProbe struct {
	AccountID string       `json:"account_id"`
	RoleARN   string       `json:"role_arn"`
	Trails    []TrailState `json:"trails"`
	Checks    int          `json:"checks"`
}

// TrailInput asks for the managed organization trail (and its bucket) of an
// organization whose ID preflight found.
type TrailInput struct {
	OrgInput
	OrganizationID string `json:"organization_id"`
}

// VerifyInput asks verification to wait until AWS shows trusted access on
// (or off, for a disable) and, when enabling, the service-linked role and
// every listed trail logging.
type VerifyInput struct {
	OrgInput
	// TrailARNs must be organization trails that report IsLogging (enable
	// and rollback), each read in its home region.
	TrailARNs []string `json:"trail_arns,omitempty"`
	// DelegatedAdministrators must be listed as CloudTrail's delegated
	// administrators (enable).
	DelegatedAdministrators []string `json:"delegated_administrators,omitempty"`
}

// Reminder tells people that a gate is waiting for them.
type Reminder struct {
	ChangeID     string    `json:"change_id"`
	Organization string    `json:"organization"`
	Action       string    `json:"action"`
	Awaiting     string    `json:"awaiting"`
	Who          []string  `json:"who"`
	Since        time.Time `json:"since"`
	Expires      time.Time `json:"expires"`
	Message      string    `json:"message"`
}
