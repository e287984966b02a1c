package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// The drift audit's names: its workflow type, its schedule, and the search
// attribute that lets the Temporal UI list audits that found drift.
const (
	// AuditWorkflowName reads every organization against its desired state
	// and announces what drifted; it never mutates.
	AuditWorkflowName = "trailgate.Audit"
	// AuditScheduleID is the Temporal Schedule that runs the audit; the
	// workflows it starts have IDs that begin with it.
	AuditScheduleID = "trailgate-audit"
)

// DriftKey is "yes" on an audit that found drift, "no" on one that did not.
var DriftKey = temporal.NewSearchAttributeKeyKeyword("TrailgateDrift")

// The values of DriftKey.
const (
	DriftYes = "yes"
	DriftNo  = "no"
)

// AuditTrigger says who started an audit.
type AuditTrigger string

// The triggers of an audit.
const (
	AuditBySchedule AuditTrigger = "schedule"
	AuditByCLI      AuditTrigger = "cli"
)

// AuditInput starts an AuditWorkflow.
type AuditInput struct {
	Trigger AuditTrigger `json:"trigger,omitempty"`
}

// AuditReport is an audit's result: every organization as found, every
// finding standing now (with since when), and what appeared and what was
// resolved since the previous audit, which the audit announced.
type AuditReport struct {
	AuditID string       `json:"audit_id"`
	Trigger AuditTrigger `json:"trigger,omitempty"`
	At      time.Time    `json:"at"`
	// Drift says some finding departs from a desired state; findings for
	// information only do not count.
	Drift         bool       `json:"drift"`
	Organizations []OrgAudit `json:"organizations"`
	Findings      []Finding  `json:"findings"`
	Appeared      []Finding  `json:"appeared"`
	Resolved      []Finding  `json:"resolved"`
	// PreviousAt is when the audit compared against ran; zero for the
	// first.
	PreviousAt time.Time `json:"previous_at,omitzero"`
}

// Drifted lists the organizations with a finding that departs from their
// desired state, each once, in the report's order, with that state.
func (r AuditReport) Drifted() []OrgAudit {
	var out []OrgAudit
	for _, o := range r.Organizations {
		for _, f := range r.Findings {
			if f.Organization == o.Organization && f.Kind.Drift() {
				out = append(out, o)
				break
			}
		}
	}
	return out
}
