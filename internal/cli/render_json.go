package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/trailgate/trailgate/workflows"
)

// JSON for programs: what each command prints with --json, in documented,
// stable shapes.

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// startedJSON is what a change command prints with --json and without
// --wait.
type startedJSON struct {
	ChangeID  string           `json:"change_id"`
	Action    workflows.Action `json:"action"`
	Requester string           `json:"requester"`
	// RequestedBy is the requester as the worker proved them.
	RequestedBy workflows.Who `json:"requested_by"`
	URL         string        `json:"url,omitempty"`
	// organizations are what the change is about, for people.
	organizations []string
}

// statusJSON is what status --json prints: the change's progress and the
// AWS calls its organizations are retrying.
type statusJSON struct {
	workflows.ChangeProgress
	Retrying []Retry `json:"retrying,omitempty"`
}

// auditJSON is what `trailgate audit --json` prints: the audit's report
// and the changes --remediate opened.
type auditJSON struct {
	workflows.AuditReport
	Remediation []startedJSON `json:"remediation,omitempty"`
}

// scheduleJSON is what `trailgate audit schedule --json` prints.
type scheduleJSON struct {
	ID            string        `json:"id"`
	Every         []string      `json:"every"`
	Paused        bool          `json:"paused"`
	Note          string        `json:"note,omitempty"`
	Overlap       string        `json:"overlap"`
	CatchupWindow string        `json:"catchup_window"`
	NextRuns      []time.Time   `json:"next_runs"`
	Recent        []auditRunRef `json:"recent"`
}

type auditRunRef struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	WorkflowID  string    `json:"workflow_id"`
}

// ChangeListing is one line of `trailgate list`, and its JSON shape.
type ChangeListing struct {
	ChangeID string    `json:"change_id"`
	Action   string    `json:"action"`
	Phase    string    `json:"phase"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
}

// ChangeRecord is a change's full record: where the change stands, each
// organization's own progress (plan, inventory, approvals, evidence), and
// every record entry of the change and its organizations, by time. It is
// what `trailgate record --format json` prints.
type ChangeRecord struct {
	Change workflows.ChangeProgress `json:"change"`
	// Targets are the organizations' workflows that started, in the
	// change's order.
	Targets []workflows.TargetProgress `json:"targets"`
	// Entries are the change's and its organizations' record entries,
	// oldest first.
	Entries     []workflows.RecordEntry `json:"entries"`
	TemporalURL string                  `json:"temporal_url,omitempty"`
	Started     time.Time               `json:"started,omitzero"`
	Ended       time.Time               `json:"ended,omitzero"`
	ExportedAt  time.Time               `json:"exported_at"`
}

// Retry is an AWS call that an organization's workflow is retrying, as
// Temporal tells it: the attempt, the last error and when the next attempt
// comes.
type Retry struct {
	Organization string    `json:"organization"`
	Call         string    `json:"call"`
	Attempt      int32     `json:"attempt"`
	LastError    string    `json:"last_error"`
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
	// Since is when the last attempt ended.
	Since time.Time `json:"since,omitzero"`
}
