package activities

import (
	"time"

	"github.com/trailgate/trailgate/config"
)

// OrgInput names the organization an activity acts on and, when enabling,
// the trail it manages.
type OrgInput struct {
	Organization config.Organization `json:"organization"`
	Trail        config.Trail        `json:"trail"`
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
}

// TrailState is one trail as CloudTrail reports it.
type TrailState struct {
	Name                string `json:"name"`
	ARN                 string `json:"arn"`
	HomeRegion          string `json:"home_region"`
	IsOrganizationTrail bool   `json:"is_organization_trail"`
	IsLogging           bool   `json:"is_logging"`
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
}

// Empty reports whether nothing depends on trusted access.
func (i Inventory) Empty() bool {
	return len(i.OrganizationTrails) == 0 && len(i.EventDataStores) == 0 && len(i.DelegatedAdministrators) == 0
}

// TrailARNs lists the ARNs of the inventory's organization trails.
func (i Inventory) TrailARNs() []string {
	arns := make([]string, 0, len(i.OrganizationTrails))
	for _, t := range i.OrganizationTrails {
		arns = append(arns, t.ARN)
	}
	return arns
}

// Evidence is what verification read back from AWS.
type Evidence struct {
	At                time.Time    `json:"at"`
	TrustedAccess     bool         `json:"trusted_access"`
	DateEnabled       *time.Time   `json:"date_enabled,omitempty"`
	ServiceLinkedRole bool         `json:"service_linked_role"`
	Trails            []TrailState `json:"trails,omitempty"`
	// Checks is how many reads it took until AWS showed the desired state.
	Checks int `json:"checks"`
	// Notes say what AWS documents about the result, for the record.
	Notes []string `json:"notes,omitempty"`
}

// TrailInput asks for the managed organization trail (and its bucket) of an
// organization whose ID and management account preflight found.
type TrailInput struct {
	OrgInput
	OrganizationID      string `json:"organization_id"`
	ManagementAccountID string `json:"management_account_id"`
}

// VerifyInput asks verification to wait until AWS shows trusted access on
// (or off, for a disable) and, when enabling, the service-linked role and
// every listed trail logging.
type VerifyInput struct {
	OrgInput
	// TrailARNs must report IsLogging (enable and rollback).
	TrailARNs []string `json:"trail_arns,omitempty"`
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

// NotifyInput is a reminder and where to send it; an empty WebhookURL means
// the reminder is only logged.
type NotifyInput struct {
	WebhookURL string   `json:"webhook_url,omitempty"`
	Reminder   Reminder `json:"reminder"`
}
