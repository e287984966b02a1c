// Package metrics names trailgate's own metrics, which the worker serves on
// its Prometheus endpoint (metrics.address) beside the Temporal SDK's, and
// records them through the SDK's metrics handler: workflow.GetMetricsHandler
// in workflow code, which records nothing while a workflow replays, and the
// worker's handler for AWS calls.
//
// Labels are bounded: actions, phases, gate kinds, AWS services, operations
// and error codes, finding kinds. No organization, change or person is a
// label; there may be thousands.
package metrics

import (
	"time"

	"go.temporal.io/sdk/client"
)

// Names, as Prometheus shows them. Counters end in _total and timers in
// _seconds, so the SDK's Prometheus naming leaves them as they are.
const (
	ChangesStarted   = "trailgate_changes_started_total"
	ChangesEnded     = "trailgate_changes_ended_total"
	PhaseTransitions = "trailgate_organization_phase_transitions_total"
	GateWait         = "trailgate_gate_wait_seconds"
	AWSCalls         = "trailgate_aws_calls_total"
	AWSRetries       = "trailgate_aws_retries_total"
	DriftFindings    = "trailgate_drift_findings_total"
	Organizations    = "trailgate_organizations"
)

// Labels.
const (
	LabelAction    = "action"
	LabelOutcome   = "outcome"
	LabelPhase     = "phase"
	LabelGate      = "gate"
	LabelService   = "service"
	LabelOperation = "operation"
	LabelCode      = "code"
	LabelKind      = "kind"
	LabelEvent     = "event"
)

// Values of the gate label: the kinds of gate a change waits at.
const (
	GateApproval = "approval"
	GateCleanup  = "cleanup"
	GateWindow   = "window"
)

// Values of the code label beside AWS's own error codes.
const (
	// CodeOK is a call AWS answered with success.
	CodeOK = "OK"
	// CodeNoAnswer is a call that failed with no AWS error code: no
	// connection, a timeout, a cancelled context.
	CodeNoAnswer = "NoAnswer"
)

// Values of the event label of drift findings.
const (
	FindingAppeared = "appeared"
	FindingResolved = "resolved"
)

// Type is how Prometheus shows a metric.
type Type string

// Types.
const (
	Counter   Type = "counter"
	Histogram Type = "histogram"
	Gauge     Type = "gauge"
)

// Metric describes one of trailgate's metrics.
type Metric struct {
	Name   string
	Type   Type
	Labels []string
	Help   string
}

// All lists every metric trailgate records, as the README documents them.
// Series recorded in workflow code also carry the SDK's namespace,
// task_queue and workflow_type labels.
var All = []Metric{
	{ChangesStarted, Counter, []string{LabelAction}, "changes started (a change continuing as new is not started again)"},
	{ChangesEnded, Counter, []string{LabelAction, LabelOutcome}, "changes ended, by the phase they ended in"},
	{PhaseTransitions, Counter, []string{LabelAction, LabelPhase}, "organizations (targets) entering a phase"},
	{GateWait, Histogram, []string{LabelGate}, "seconds a change waited at a gate before it passed or the change ended there"},
	{AWSCalls, Counter, []string{LabelService, LabelOperation, LabelCode}, "AWS calls as the SDK ended them, retries included: code OK, AWS's error code, or NoAnswer"},
	{AWSRetries, Counter, []string{LabelService, LabelOperation}, "attempts the AWS SDK's retryer made again after a throttle, a 5xx or a dropped connection"},
	{DriftFindings, Counter, []string{LabelKind, LabelEvent}, "drift findings the audit announced as appeared or resolved"},
	{Organizations, Gauge, []string{LabelPhase}, "organizations whose workflow stands in a phase now, counted in Temporal's visibility"},
}

// ChangeStarted counts a change that starts.
func ChangeStarted(h client.MetricsHandler, action string) {
	h.WithTags(map[string]string{LabelAction: action}).Counter(ChangesStarted).Inc(1)
}

// ChangeEnded counts a change that ends in its final phase.
func ChangeEnded(h client.MetricsHandler, action, outcome string) {
	h.WithTags(map[string]string{LabelAction: action, LabelOutcome: outcome}).Counter(ChangesEnded).Inc(1)
}

// PhaseEntered counts an organization of a change entering a phase.
func PhaseEntered(h client.MetricsHandler, action, phase string) {
	h.WithTags(map[string]string{LabelAction: action, LabelPhase: phase}).Counter(PhaseTransitions).Inc(1)
}

// GateWaited records how long a change waited at a gate.
func GateWaited(h client.MetricsHandler, gate string, waited time.Duration) {
	h.WithTags(map[string]string{LabelGate: gate}).Timer(GateWait).Record(waited)
}

// AWSCall counts an AWS call and the retries it took.
func AWSCall(h client.MetricsHandler, service, operation, code string, retries int) {
	h = h.WithTags(map[string]string{LabelService: service, LabelOperation: operation})
	h.WithTags(map[string]string{LabelCode: code}).Counter(AWSCalls).Inc(1)
	if retries > 0 {
		h.Counter(AWSRetries).Inc(int64(retries))
	}
}

// DriftFinding counts a drift finding the audit announced.
func DriftFinding(h client.MetricsHandler, kind, event string) {
	h.WithTags(map[string]string{LabelKind: kind, LabelEvent: event}).Counter(DriftFindings).Inc(1)
}

// OrganizationsCounted sets how many organizations stand in a phase now.
func OrganizationsCounted(h client.MetricsHandler, phase string, n int64) {
	h.WithTags(map[string]string{LabelPhase: phase}).Gauge(Organizations).Update(float64(n))
}
