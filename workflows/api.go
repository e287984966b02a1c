// Package workflows holds trailgate's deterministic workflow code. This file
// is its API: every name another package (the worker, the CLI, the embedded
// default) needs — workflow, query, update and signal names, payloads, search
// attributes and workflow-ID helpers.
package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/activities"
)

// Workflow type names, as registered with the worker and shown in the UI.
const (
	// TargetWorkflowName changes one organization: a change of one, or a
	// child of a rollout.
	TargetWorkflowName = "trailgate.Target"
	// ChangeWorkflowName rolls a change out over many organizations in waves.
	ChangeWorkflowName = "trailgate.Change"
	// PlanWorkflowName reads organizations and says what a change would do;
	// it never mutates.
	PlanWorkflowName = "trailgate.Plan"
	// IdentifyWorkflowName verifies a proof of identity and says who it
	// proves under the worker's policy (trailgate whoami).
	IdentifyWorkflowName = "trailgate.Identify"
)

// Query, update and signal names.
const (
	// QueryProgress returns a TargetProgress (target) or ChangeProgress (change).
	QueryProgress = "progress"
	// QueryTold returns what a change told one organization's workflow
	// ([]ParentDecision), by the organization's name: a target checks a
	// decision signalled to it against it before it acts.
	QueryTold = "told"
	// UpdateApprove records an approval (Decision) at an approval gate.
	UpdateApprove = "approve"
	// UpdateReject rejects the change at any gate (Decision).
	UpdateReject = "reject"
	// UpdateConfirmCleanup records the CloudTrail administrator's cleanup
	// confirmation (CleanupConfirmation) before a disable.
	UpdateConfirmCleanup = "confirm-cleanup"
	// UpdatePause, UpdateResume and UpdateCancel steer a change (Control).
	UpdatePause  = "pause"
	UpdateResume = "resume"
	UpdateCancel = "cancel"

	// SignalParentDecision carries a decision taken at the parent change to a
	// target workflow (ParentDecision).
	SignalParentDecision = "parent-decision"
	// SignalTargetReport tells a parent change where a target stands
	// (TargetReport).
	SignalTargetReport = "target-report"
)

// Application error types: the Type of the temporal.ApplicationError a
// workflow, an update or a query ends with, for callers to tell apart.
const (
	// ErrInvalidInput: a workflow's input was not valid.
	ErrInvalidInput = "InvalidInput"
	// ErrTargetFailed: one organization's change failed.
	ErrTargetFailed = "TargetFailed"
	// ErrChangeFailed: a change failed; its details are the ChangeProgress.
	ErrChangeFailed = "ChangeFailed"
	// ErrPlanBlocked: a target's plan cannot go ahead without someone first
	// fixing the configuration or AWS.
	ErrPlanBlocked = "PlanBlocked"
	// ErrRetriesExhausted: an AWS call's retries ran out; the message says
	// what was tried, for how long, and the last error.
	ErrRetriesExhausted = "RetriesExhausted"
	// ErrDecisionRefused: the worker refused a decision: its proof did not
	// hold, or the person may not take it.
	ErrDecisionRefused = "DecisionRefused"
)

// Action is what a change does to trusted access for CloudTrail.
type Action string

// The actions of a change.
const (
	ActionEnable  Action = "enable"
	ActionDisable Action = "disable"
	// ActionRollback re-enables trusted access after a disable and verifies
	// that organization trails log again, without reconfiguring them.
	ActionRollback Action = "rollback"
)

// ParseAction reads an action as a user types it.
func ParseAction(s string) (Action, error) {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionEnable, ActionDisable, ActionRollback:
		return a, nil
	}
	return "", fmt.Errorf("unknown action %q: use enable, disable or rollback", s)
}

// Phase is where a target or a change stands. Phases are search-attribute
// values too, so they are stable words.
type Phase string

// The phases of a target (and, where they apply, of a change).
const (
	PhasePending          Phase = "pending"
	PhasePreflight        Phase = "preflight"
	PhasePlanning         Phase = "planning"
	PhaseAwaitingCleanup  Phase = "awaiting-cleanup"
	PhaseAwaitingApproval Phase = "awaiting-approval"
	PhaseAwaitingWindow   Phase = "awaiting-window"
	PhasePaused           Phase = "paused"
	PhaseApplying         Phase = "applying"
	PhaseVerifying        Phase = "verifying"
	// Final phases.
	PhaseSucceeded  Phase = "succeeded"
	PhaseNoChange   Phase = "nothing-to-do"
	PhaseRejected   Phase = "rejected"
	PhaseExpired    Phase = "expired"
	PhaseFailed     Phase = "failed"
	PhaseCancelled  Phase = "cancelled"
	PhaseHalted     Phase = "halted"
	PhaseRolledBack Phase = "rolled-back"
	// PhaseTerminated is never set by a workflow: readers (the CLI) say it
	// of a change that Temporal terminated, which ran no code of its own
	// to end.
	PhaseTerminated Phase = "terminated"
)

// Final reports whether a phase ends a workflow.
func (p Phase) Final() bool {
	switch p {
	case PhaseSucceeded, PhaseNoChange, PhaseRejected, PhaseExpired, PhaseFailed, PhaseCancelled, PhaseHalted, PhaseRolledBack, PhaseTerminated:
		return true
	}
	return false
}

// Successful reports whether a final phase means the change did what was
// asked (or found nothing to do) and was verified.
func (p Phase) Successful() bool {
	return p == PhaseSucceeded || p == PhaseNoChange || p == PhaseRolledBack
}

// GatePolicy is who may decide at a change's gates, how they prove it, and
// how long gates wait. The worker resolves it from its own configuration
// when a change starts; it then holds for the change's whole life.
type GatePolicy = activities.Policy

// PolicyPerson is one person of a gate policy and the AWS principals that
// prove them.
type PolicyPerson = activities.Person

// OrgRef is an organization of a change as the worker resolved it: name,
// management account and, when enabling, the managed trail. It holds no
// role, external ID or credential.
type OrgRef = activities.OrgInput

// TargetInput starts a TargetWorkflow: one action on one organization, as a
// child of a change, which holds every gate.
type TargetInput struct {
	ChangeID     string `json:"change_id"`
	Action       Action `json:"action"`
	Organization OrgRef `json:"organization"`
	// Requester is the proven requester's name, for the record.
	Requester string `json:"requester"`
	Reason    string `json:"reason,omitempty"`
	// ParentWorkflowID is the change that holds the target's gates and
	// sends its decisions by signal.
	ParentWorkflowID string `json:"parent_workflow_id"`
}

// Validate says what is wrong with a target input, all at once.
func (in TargetInput) Validate() error {
	problems := changeAndActionProblems(in.ChangeID, in.Action)
	if in.Organization.Organization == "" {
		problems = append(problems, Problem{Field: FieldOrganizations, Kind: ProblemEmpty, Text: "organization name is empty"})
	}
	if in.ParentWorkflowID == "" {
		problems = append(problems, Problem{Text: "a target runs only as part of a change: start a change (trailgate enable or disable)"})
	}
	return invalidInput("target input", problems)
}

// InputField names what of a workflow's input a problem is about, by the
// change input's JSON key.
type InputField string

// The fields of a change's input (and of a target's, which shares some).
const (
	FieldChangeID InputField = "change_id"
	FieldAction   InputField = "action"
	// FieldOrganizations: the organizations a change names, or the one a
	// target changes.
	FieldOrganizations InputField = "organizations"
	FieldWaves         InputField = "waves"
	FieldConcurrency   InputField = "concurrency"
	FieldFailureBudget InputField = "failure_budget"
	FieldWindows       InputField = "windows"
	FieldReason        InputField = "reason"
)

// ProblemKind says how a field is wrong where a caller may want to say it
// in words of its own; the zero kind is any other way, which the problem's
// Text says.
type ProblemKind string

// The kinds of problem a caller may word its own way.
const (
	// ProblemMissing: the field names nothing where it must name something.
	ProblemMissing ProblemKind = "missing"
	// ProblemEmpty: a value of the field is empty.
	ProblemEmpty ProblemKind = "empty"
	// ProblemRepeated: a value is given twice; the problem's Value is it.
	ProblemRepeated ProblemKind = "repeated"
)

// Problem is one thing wrong with a workflow's input.
type Problem struct {
	// Field is what of the input the problem is about; empty when it is
	// about no one field.
	Field InputField
	Kind  ProblemKind
	// Value is the value given twice, with ProblemRepeated.
	Value string
	// Text says the problem in the words of the input.
	Text string
}

// InvalidInputError is everything wrong with a workflow's input, each
// problem with what of the input it is about, so that a caller can say it
// in words of its own (the CLI: its flags). Its message is the one the
// workflow fails with, as an ErrInvalidInput application error.
type InvalidInputError struct {
	// What is the input: "change", "target input".
	What     string
	Problems []Problem
}

// Error says "invalid <what>: " and the problems, joined by "; ". Recorded
// histories hold this message: keep it.
func (e *InvalidInputError) Error() string {
	texts := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		texts = append(texts, p.Text)
	}
	return fmt.Sprintf("invalid %s: %s", e.What, strings.Join(texts, "; "))
}

// about tags problems that say nothing more than their text with the
// field they are about.
func about(field InputField, texts ...string) []Problem {
	problems := make([]Problem, 0, len(texts))
	for _, t := range texts {
		problems = append(problems, Problem{Field: field, Text: t})
	}
	return problems
}

// changeAndActionProblems says what is wrong with the change ID and the
// action, which every workflow's input carries.
func changeAndActionProblems(changeID string, action Action) []Problem {
	var problems []Problem
	if err := ValidateChangeID(changeID); err != nil {
		problems = append(problems, about(FieldChangeID, err.Error())...)
	}
	if _, err := ParseAction(string(action)); err != nil {
		problems = append(problems, about(FieldAction, err.Error())...)
	}
	return problems
}

// invalidInput is an *InvalidInputError of the problems, or nil (an
// untyped nil error) when there are none.
func invalidInput(what string, problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &InvalidInputError{What: what, Problems: problems}
}

// invalid joins problems about no field of an input into one plain error,
// or nil when there are none. Update validators return it as it is: an
// error of a type of ours would have Temporal add that type to the message
// the sender sees.
func invalid(what string, problems []string) error {
	if err := invalidInput(what, about("", problems...)); err != nil {
		return errors.New(err.Error())
	}
	return nil
}

// PlanStep is one mutation a target would make.
type PlanStep struct {
	// Kind is a stable word: enable-trusted-access, create-service-linked-role,
	// ensure-bucket-policy, create-trail, convert-trail, start-logging,
	// disable-trusted-access.
	Kind        string `json:"kind"`
	Description string `json:"description"`
}

// Plan is what a target would change, computed from live state before any
// mutation. An empty plan means nothing to do.
type Plan struct {
	Steps []PlanStep `json:"steps"`
	// Current is the state the plan was computed from.
	Current State `json:"current"`
}

// Empty reports whether the plan has nothing to do.
func (p Plan) Empty() bool { return len(p.Steps) == 0 }

// The AWS state types and the drift audit's findings are the activities'
// results; they are named here too so that the CLI needs only this package.
type (
	// State is what AWS says about one organization's CloudTrail integration.
	State = activities.State
	// TrailState is one trail as CloudTrail reports it.
	TrailState = activities.TrailState
	// Inventory is what a disable would affect in one organization.
	Inventory = activities.Inventory
	// Evidence is what verification read back from AWS.
	Evidence = activities.Evidence
	// Finding is one way an organization differs from its desired state.
	Finding = activities.Finding
	// FindingKind is a stable word for what drifted.
	FindingKind = activities.FindingKind
	// Desired is the state an organization is held to.
	Desired = activities.Desired
	// OrgAudit is one organization as an audit found it.
	OrgAudit = activities.OrgAudit
)

// The desired states an organization may be held to.
const (
	DesiredEnabled   = activities.DesiredEnabled
	DesiredDisabled  = activities.DesiredDisabled
	DesiredUnmanaged = activities.DesiredUnmanaged
)

// Who is the person behind a decision. On the way in it carries a sealed
// proof (Proof, bound to the decision with Nonce) or, only where the
// worker's configuration allows claims, a name in By. As recorded, By is
// the person the proof maps to under the change's policy, ARN the principal
// STS verified, and Claimed says the name was taken on trust; Proof and
// Nonce are then cleared.
type Who struct {
	By      string `json:"by"`
	ARN     string `json:"arn,omitempty"`
	Claimed bool   `json:"claimed,omitempty"`
	Proof   string `json:"proof,omitempty"`
	Nonce   string `json:"nonce,omitempty"`
}

// String names the person for a record: "alice (arn:…)" or "alice
// (claimed, not verified)".
func (w Who) String() string {
	switch {
	case w.Claimed:
		return w.By + " (claimed, not verified)"
	case w.ARN != "":
		return w.By + " (" + w.ARN + ")"
	}
	return w.By
}

// recorded is the person as kept in the record: without proof or nonce.
func (w Who) recorded() Who {
	w.Proof, w.Nonce = "", ""
	return w
}

// Decision is an approval or a rejection, as a person gives it.
type Decision struct {
	Who
	Comment string `json:"comment,omitempty"`
	// Wave is the wave the decision is for (1-based). A proven decision
	// names its wave; zero (claims only) means the wave now awaiting one.
	Wave int `json:"wave,omitempty"`
	// Round is the wave's approval round the decision is for: after a plan
	// changed since its approval, a wave is approved again, in round 2 and
	// on. Zero or one is the first round.
	Round int `json:"round,omitempty"`
}

// round is the approval round a decision names.
func (d Decision) round() int { return max(d.Round, 1) }

// CleanupConfirmation is the CloudTrail administrator's word that
// CloudTrail-side cleanup is done before trusted access is disabled.
type CleanupConfirmation struct {
	Who
	Comment string `json:"comment,omitempty"`
	// Organization limits the confirmation to one organization; empty
	// confirms for every organization awaiting it.
	Organization string `json:"organization,omitempty"`
	// AcknowledgeMemberLoggingStops says the administrator knows that
	// organization trails remain and stop logging for member accounts.
	AcknowledgeMemberLoggingStops bool `json:"acknowledge_member_logging_stops"`
	// AcknowledgeEventDataStores says the administrator knows that
	// organization event data stores stop collecting member accounts'
	// events.
	AcknowledgeEventDataStores bool `json:"acknowledge_event_data_stores,omitempty"`
	// AcknowledgeDelegatedAdministrators says the administrator knows that
	// CloudTrail's delegated administrators lose their organization-wide
	// access.
	AcknowledgeDelegatedAdministrators bool `json:"acknowledge_delegated_administrators,omitempty"`
}

// Impact is one kind of thing that stops working for the organization's
// member accounts when trusted access is disabled. The CloudTrail
// administrator's confirmation acknowledges each kind present.
type Impact string

// The kinds of impact.
const (
	ImpactOrganizationTrails      Impact = "organization-trails"
	ImpactEventDataStores         Impact = "event-data-stores"
	ImpactDelegatedAdministrators Impact = "delegated-administrators"
)

// Acknowledged lists the kinds of impact the confirmation acknowledges.
func (c CleanupConfirmation) Acknowledged() []Impact {
	var out []Impact
	if c.AcknowledgeMemberLoggingStops {
		out = append(out, ImpactOrganizationTrails)
	}
	if c.AcknowledgeEventDataStores {
		out = append(out, ImpactEventDataStores)
	}
	if c.AcknowledgeDelegatedAdministrators {
		out = append(out, ImpactDelegatedAdministrators)
	}
	return out
}

// Of lists what of the kind an inventory holds: trail ARNs, event data
// store ARNs or delegated administrators' account IDs.
func (i Impact) Of(inv Inventory) []string {
	switch i {
	case ImpactOrganizationTrails:
		return inv.TrailARNs()
	case ImpactEventDataStores:
		return inv.EventDataStores
	case ImpactDelegatedAdministrators:
		return inv.DelegatedAdministrators
	}
	return nil
}

// Impacts lists the kinds of impact an inventory holds, in a fixed order.
func Impacts(inv Inventory) []Impact {
	var out []Impact
	for _, i := range []Impact{ImpactOrganizationTrails, ImpactEventDataStores, ImpactDelegatedAdministrators} {
		if len(i.Of(inv)) > 0 {
			out = append(out, i)
		}
	}
	return out
}

// Control pauses, resumes or cancels a change, with who, why and when.
type Control struct {
	Who
	Reason string `json:"reason"`
	// At is when the change took the control.
	At time.Time `json:"at,omitzero"`
}

// DecisionKind names a decision people take, as bound into their proofs.
// The gate decisions are also the names of the change's Updates.
type DecisionKind string

// The decisions.
const (
	DecisionRequest        DecisionKind = "request"
	DecisionApprove        DecisionKind = UpdateApprove
	DecisionReject         DecisionKind = UpdateReject
	DecisionConfirmCleanup DecisionKind = UpdateConfirmCleanup
	DecisionPause          DecisionKind = UpdatePause
	DecisionResume         DecisionKind = UpdateResume
	DecisionCancel         DecisionKind = UpdateCancel
	// DecisionIdentify proves nothing but who one is (trailgate whoami).
	DecisionIdentify DecisionKind = "identify"
)

// ParentKind is what a change tells one of its targets.
type ParentKind string

// What a change tells its targets.
const (
	// ParentRelease lets a target past its approval gate: act and verify.
	ParentRelease ParentKind = "release"
	// ParentCleanupConfirmed forwards the CloudTrail administrator's
	// confirmation; the target takes its inventory again.
	ParentCleanupConfirmed ParentKind = "cleanup-confirmed"
	// ParentReject, ParentCancel and ParentExpire end a target that has not
	// started mutating, with nothing changed.
	ParentReject ParentKind = "reject"
	ParentCancel ParentKind = "cancel"
	ParentExpire ParentKind = "expire"
)

// ParentDecision is a decision a parent change took and forwards to a target.
type ParentDecision struct {
	Kind    ParentKind `json:"kind"`
	People  []Who      `json:"people,omitempty"`
	Comment string     `json:"comment,omitempty"`
	// Acknowledge, with ParentCleanupConfirmed, says the confirmation
	// acknowledges that member-account logging stops.
	Acknowledge bool `json:"acknowledge,omitempty"`
	// Acknowledged, with ParentCleanupConfirmed, lists every kind of
	// impact the confirmation acknowledges.
	Acknowledged []Impact  `json:"acknowledged,omitempty"`
	At           time.Time `json:"at"`
	// Word is the worker's word for the decision (versionVouched): the
	// target checks it instead of asking the change whether it sent it.
	Word string `json:"word,omitempty"`
}

// vouching is d as the worker vouches for it, from change to target.
func (d ParentDecision) vouching(from, to string) activities.Vouching {
	d.Word = ""
	return activities.Vouching{From: from, To: to, Decision: d}
}

// TargetReport tells a parent change where a target stands.
type TargetReport struct {
	Organization string     `json:"organization"`
	Phase        Phase      `json:"phase"`
	Plan         *Plan      `json:"plan,omitempty"`
	Inventory    *Inventory `json:"inventory,omitempty"`
	Message      string     `json:"message,omitempty"`
}

// RecordKind is what a line of a change record is about. Its values are
// stable words, kept in recorded histories and shown by the CLI.
type RecordKind string

// The kinds of record lines.
const (
	// RecordRequested: a person asked for the change.
	RecordRequested RecordKind = "requested"
	// RecordPolicy: the gate policy the change holds for its life.
	RecordPolicy RecordKind = "policy"
	// RecordRefused: a request or a decision was refused.
	RecordRefused RecordKind = "refused"
	// RecordPreflight: what the management account's caller is.
	RecordPreflight RecordKind = "preflight"
	// RecordPlan: what a target would change, or why it cannot.
	RecordPlan RecordKind = "plan"
	// RecordInventory: what a disable would affect.
	RecordInventory RecordKind = "inventory"
	// RecordWave: a wave starts or ends.
	RecordWave RecordKind = "wave"
	// RecordGate: a gate waits, or a decision was not enough to pass it.
	RecordGate RecordKind = "gate"
	// RecordReminder: the people of a gate were reminded.
	RecordReminder RecordKind = "reminder"
	// RecordApproved, RecordRejected and RecordCleanupConfirmed: decisions
	// at a gate.
	RecordApproved         RecordKind = "approved"
	RecordRejected         RecordKind = "rejected"
	RecordCleanupConfirmed RecordKind = "cleanup-confirmed"
	// RecordExpired: a gate had no decision in time.
	RecordExpired RecordKind = "expired"
	// RecordPaused, RecordResumed and RecordCancelled: a change was
	// steered (Control).
	RecordPaused    RecordKind = "paused"
	RecordResumed   RecordKind = "resumed"
	RecordCancelled RecordKind = "cancelled"
	// RecordRecheck: right before acting, a target read AWS again.
	RecordRecheck RecordKind = "recheck"
	// RecordMutation: a target changed AWS, with the calls it made.
	RecordMutation RecordKind = "mutation"
	// RecordVerified: what verification read back from AWS.
	RecordVerified RecordKind = "verified"
	// RecordProbe: what a member account sees after a change.
	RecordProbe RecordKind = "probe"
	// RecordEvents: CloudTrail's own events for a mutation's calls.
	RecordEvents RecordKind = "events"
	// RecordHalted: failures went past the change's failure budget.
	RecordHalted RecordKind = "halted"
	// RecordError: a target ended with an error.
	RecordError RecordKind = "error"
	// RecordOutcome: how an organization or the change ended.
	RecordOutcome RecordKind = "outcome"
)

// RecordEntry is one line of a change record: a gate, a decision, a
// mutation, a verification or an error, with its time and people.
type RecordEntry struct {
	At           time.Time `json:"at"`
	Organization string    `json:"organization,omitempty"`
	// Kind is one of the Record… constants: a stable word.
	Kind   RecordKind `json:"kind"`
	People []string   `json:"people,omitempty"`
	// Identities are the people of a decision as proven: name and verified
	// ARN, or marked as claimed.
	Identities []Who  `json:"identities,omitempty"`
	Detail     string `json:"detail"`
	// Calls are the AWS requests a mutation made, with AWS's request IDs;
	// Events link them to CloudTrail's own management events.
	Calls  []activities.Call  `json:"calls,omitempty"`
	Events []activities.Event `json:"events,omitempty"`
}

// Routine reports whether e is one of the entries that every organization
// of a change makes when all goes well: a change over many organizations
// leaves them out of its answers, and people follow it without them.
func (e RecordEntry) Routine() bool {
	if e.Organization == "" {
		return false
	}
	switch e.Kind {
	case RecordRefused, RecordRecheck, RecordError, RecordHalted:
		return false
	case RecordOutcome:
		return Phase(e.Detail).Successful()
	}
	return true
}

// Awaiting says what a gate waits for and since when.
type Awaiting struct {
	What  string    `json:"what"`
	Since time.Time `json:"since"`
	// Expires is when the gate gives up and the change ends as expired.
	Expires time.Time `json:"expires"`
	// Who may act at this gate.
	Who []string `json:"who"`
}

// TargetProgress is the answer of a target's progress query and, when the
// target ends, its result.
type TargetProgress struct {
	ChangeID     string        `json:"change_id"`
	Organization string        `json:"organization"`
	Action       Action        `json:"action"`
	Requester    string        `json:"requester"`
	Phase        Phase         `json:"phase"`
	Plan         *Plan         `json:"plan,omitempty"`
	Inventory    *Inventory    `json:"inventory,omitempty"`
	Approvals    []Who         `json:"approvals"`
	Awaiting     *Awaiting     `json:"awaiting,omitempty"`
	Evidence     *Evidence     `json:"evidence,omitempty"`
	LastError    string        `json:"last_error,omitempty"`
	Record       []RecordEntry `json:"record"`
}

// ChangeTaskTimeout is how long one workflow task of a change may take. A
// task of a change of thousands of organizations takes in their reports
// by thousands, and one timed out is replayed whole, which takes longer
// still: at 10,000 organizations on a busy worker, Temporal's default of
// 10 seconds timed such tasks out again and again.
const ChangeTaskTimeout = time.Minute

// TargetWorkflowID is the workflow ID of one organization's part of a
// change: <change-id>/<org-name>.
func TargetWorkflowID(changeID, orgName string) string {
	return changeID + "/" + orgName
}

var changeIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$`)

// ValidateChangeID says whether a change ID can name workflows.
func ValidateChangeID(id string) error {
	if !changeIDPattern.MatchString(id) {
		return fmt.Errorf("change ID %q is not valid: use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

// Typed search attributes, kept current by the workflows so that the Temporal
// UI can filter changes by change, action, organization and phase.
var (
	ChangeIDKey     = temporal.NewSearchAttributeKeyKeyword("TrailgateChangeID")
	ActionKey       = temporal.NewSearchAttributeKeyKeyword("TrailgateAction")
	OrganizationKey = temporal.NewSearchAttributeKeyKeyword("TrailgateOrganization")
	PhaseKey        = temporal.NewSearchAttributeKeyKeyword("TrailgatePhase")
)

// SearchAttributes lists the custom search attributes a namespace must have
// registered for trailgate, by name and type.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		ChangeIDKey.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		ActionKey.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		OrganizationKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		PhaseKey.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		DriftKey.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}
