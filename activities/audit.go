package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
)

// Desired is the state the drift audit holds an organization to.
type Desired string

// The desired states.
const (
	DesiredEnabled   Desired = config.DesiredEnabled
	DesiredDisabled  Desired = config.DesiredDisabled
	DesiredUnmanaged Desired = config.DesiredUnmanaged
)

// FindingKind is a stable word for what drifted.
type FindingKind string

// The kinds of findings.
const (
	FindingTrustedAccess        FindingKind = "trusted-access"
	FindingServiceLinkedRole    FindingKind = "service-linked-role-missing"
	FindingTrailMissing         FindingKind = "trail-missing"
	FindingTrailNotLogging      FindingKind = "trail-not-logging"
	FindingTrailNotOrganization FindingKind = "trail-not-organization-trail"
	FindingBucketPolicy         FindingKind = "bucket-policy-incomplete"
	// FindingUnknownTrail is for information: an organization trail that
	// trailgate does not manage.
	FindingUnknownTrail FindingKind = "unknown-organization-trail"
	// FindingUnreadable says the audit could not read the organization;
	// what it found there before still stands.
	FindingUnreadable FindingKind = "unreadable"
)

// Drift reports whether a finding of the kind departs from the desired
// state (rather than informing).
func (k FindingKind) Drift() bool {
	return k != FindingUnknownTrail && k != FindingUnreadable
}

// Finding is one way an organization differs from its desired state.
type Finding struct {
	Kind         FindingKind `json:"kind"`
	Organization string      `json:"organization"`
	// Subject is what the finding is about, when it is not the
	// organization itself: a trail's ARN, a bucket.
	Subject  string `json:"subject,omitempty"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	// Since is when an audit first found it.
	Since time.Time `json:"since"`
}

// Key identifies a finding across audits.
func (f Finding) Key() string {
	return string(f.Kind) + "|" + f.Organization + "|" + f.Subject
}

// String is the finding in one line.
func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s", f.Organization, f.Kind)
	if f.Subject != "" {
		s += " " + f.Subject
	}
	return s + fmt.Sprintf(": expected %s, found %s", f.Expected, f.Actual)
}

// AuditTarget is one organization the audit reads, and the desired state
// its configuration declares (empty: what trailgate last verified).
type AuditTarget struct {
	Organization        string  `json:"organization"`
	ManagementAccountID string  `json:"management_account_id"`
	Desired             Desired `json:"desired,omitempty"`
}

// AuditTargets lists every organization of the worker's configuration.
func (a *Activities) AuditTargets(context.Context) ([]AuditTarget, error) {
	out := make([]AuditTarget, 0, len(a.authority.Organizations))
	for _, o := range a.authority.Organizations {
		out = append(out, AuditTarget{Organization: o.Name, ManagementAccountID: o.ManagementAccountID, Desired: Desired(o.Desired)})
	}
	return out, nil
}

// VerifiedQuery asks Temporal's visibility for the newest workflow that
// verified an organization's state, and for some of its search
// attributes; the audit workflow writes the query, with the names it owns.
type VerifiedQuery struct {
	Query      string   `json:"query"`
	Attributes []string `json:"attributes"`
}

// Verified is the newest workflow a VerifiedQuery matched: its ID, when it
// closed, and the keyword search attributes asked for. An empty
// WorkflowID means none matched.
type Verified struct {
	WorkflowID string            `json:"workflow_id,omitempty"`
	At         time.Time         `json:"at,omitzero"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// LastVerified reads, from Temporal, the newest workflow that the query
// matches.
func (a *Activities) LastVerified(ctx context.Context, q VerifiedQuery) (Verified, error) {
	if a.temporal == nil {
		return Verified{}, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to read what trailgate last verified", "NoTemporalClient", nil)
	}
	resp, err := a.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q.Query, PageSize: 1})
	if err != nil {
		return Verified{}, fmt.Errorf("list what trailgate verified (%s): %w", q.Query, err)
	}
	if len(resp.Executions) == 0 {
		return Verified{}, nil
	}
	e := resp.Executions[0]
	v := Verified{WorkflowID: e.GetExecution().GetWorkflowId(), At: e.GetCloseTime().AsTime(), Attributes: map[string]string{}}
	fields := e.GetSearchAttributes().GetIndexedFields()
	for _, name := range q.Attributes {
		var value string
		if p, ok := fields[name]; ok && converter.GetDefaultDataConverter().FromPayload(p, &value) == nil {
			v.Attributes[name] = value
		}
	}
	return v, nil
}

// AuditOrgInput asks for one organization's audit against its desired
// state.
type AuditOrgInput struct {
	AuditTarget
	// Desired is resolved: from the configuration or what trailgate last
	// verified.
	Desired Desired `json:"desired"`
	// DesiredFrom says where Desired comes from, for people.
	DesiredFrom string `json:"desired_from"`
}

// OrgAudit is one organization as the audit found it.
type OrgAudit struct {
	Organization string  `json:"organization"`
	Desired      Desired `json:"desired"`
	DesiredFrom  string  `json:"desired_from"`
	// Current is the live state read, when it could be read.
	Current   *State     `json:"current,omitempty"`
	Inventory *Inventory `json:"inventory,omitempty"`
	Findings  []Finding  `json:"findings"`
}

// AuditOrganization reads one organization, without changing anything,
// and says how it differs from its desired state. An organization it
// cannot read is a finding of its own, not an error: the audit of the
// others goes on.
func (a *Activities) AuditOrganization(ctx context.Context, in AuditOrgInput) (OrgAudit, error) {
	r, err := a.readForAudit(ctx, AuditChunkOrg{AuditTarget: in.AuditTarget})
	if err != nil {
		return OrgAudit{Organization: in.Organization, Desired: in.Desired, DesiredFrom: in.DesiredFrom, Findings: []Finding{}}, err
	}
	return r.Audit(in.Desired, in.DesiredFrom), nil
}

// Compare says how an organization's live state and inventory differ
// from its desired state, with the managed trail (Name empty: none). Since
// is left for the audit to fill in.
func Compare(org string, desired Desired, trail TrailSettings, st State, inv Inventory) []Finding {
	out := []Finding{}
	add := func(kind FindingKind, subject, expected, actual string) {
		out = append(out, Finding{Kind: kind, Organization: org, Subject: subject, Expected: expected, Actual: actual})
	}
	managedARN := ""
	switch desired {
	case DesiredEnabled:
		if !st.TrustedAccess {
			add(FindingTrustedAccess, ServicePrincipal, "trusted access enabled", "trusted access disabled")
		}
		if !st.ServiceLinkedRole {
			add(FindingServiceLinkedRole, ServiceLinkedRoleName, "role present", "no such role")
		}
		if trail.Name != "" {
			if t := st.Trail; t == nil {
				add(FindingTrailMissing, trail.Name, "organization trail "+trail.Name, "no such trail")
			} else {
				managedARN = t.ARN
				if !t.IsOrganizationTrail {
					add(FindingTrailNotOrganization, t.ARN, "an organization trail", "a single-account trail")
				}
				if !t.IsLogging {
					add(FindingTrailNotLogging, t.ARN, "logging", "not logging")
				}
			}
			if !st.BucketPolicyReady {
				add(FindingBucketPolicy, trail.Bucket, "the organization-trail statements", "a bucket policy without them, or no bucket")
			}
		}
	case DesiredDisabled:
		if st.TrustedAccess {
			add(FindingTrustedAccess, ServicePrincipal, "trusted access disabled", "trusted access enabled")
		}
	}
	for _, t := range inv.OrganizationTrails {
		if t.ARN == managedARN || (trail.Name != "" && t.Name == trail.Name) {
			continue
		}
		actual := "an organization trail trailgate does not manage"
		if t.OwnerHint != "" {
			actual += ", seemingly " + t.OwnerHint + "'s"
		}
		add(FindingUnknownTrail, t.ARN, "known to trailgate", actual)
	}
	return out
}

// PreviousAuditQuery asks for the newest audit that completed.
type PreviousAuditQuery struct {
	Query string `json:"query"`
}

// PreviousAudit returns the result of the newest workflow the query
// matches, as it came (the audit workflow decodes it), or nothing when
// there is none.
func (a *Activities) PreviousAudit(ctx context.Context, q PreviousAuditQuery) (json.RawMessage, error) {
	if a.temporal == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to read the previous audit with", "NoTemporalClient", nil)
	}
	resp, err := a.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q.Query, PageSize: 1})
	if err != nil {
		return nil, fmt.Errorf("list previous audits (%s): %w", q.Query, err)
	}
	if len(resp.Executions) == 0 {
		return nil, nil
	}
	e := resp.Executions[0].GetExecution()
	var raw json.RawMessage
	if err := a.temporal.GetWorkflow(ctx, e.GetWorkflowId(), e.GetRunId()).Get(ctx, &raw); err != nil {
		return nil, fmt.Errorf("read the result of audit %s: %w", e.GetWorkflowId(), err)
	}
	return raw, nil
}

// DriftNotice announces findings that appeared and findings resolved since
// the previous audit.
type DriftNotice struct {
	// Kind is "drift", telling it from a gate's reminder.
	Kind     string    `json:"kind"`
	AuditID  string    `json:"audit_id"`
	At       time.Time `json:"at"`
	Appeared []Finding `json:"appeared"`
	Resolved []Finding `json:"resolved"`
}

// NotifyDrift announces what an audit found new and what it found
// resolved, once, to the worker's notifications webhook.
func (a *Activities) NotifyDrift(ctx context.Context, n DriftNotice) error {
	n.Kind = "drift"
	activity.GetLogger(ctx).Info("drift", "audit", n.AuditID, "appeared", len(n.Appeared), "resolved", len(n.Resolved))
	return a.announce(ctx, "drift notice", n, n.text())
}

// text is the notice as it reads in a chat channel.
func (n DriftNotice) text() string {
	var b strings.Builder
	for _, f := range n.Appeared {
		icon := ":warning: Drift"
		if !f.Kind.Drift() {
			icon = ":information_source: Noticed"
		}
		fmt.Fprintf(&b, "%s in *%s*: %s%s — expected %s, found %s\n", icon, f.Organization, f.Kind, subject(f), f.Expected, f.Actual)
	}
	for _, f := range n.Resolved {
		fmt.Fprintf(&b, ":white_check_mark: Resolved in *%s*: %s%s (since %s)\n", f.Organization, f.Kind, subject(f), f.Since.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "Audit %s", n.AuditID)
	return b.String()
}

func subject(f Finding) string {
	if f.Subject == "" {
		return ""
	}
	return " (" + f.Subject + ")"
}
