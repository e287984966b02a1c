package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

// session is what the change commands share: the configuration, a Temporal
// client, where to write and how.
type session struct {
	cfg    config.Config
	client client.Client
	stdout io.Writer
	stderr io.Writer
	// json prints machine-readable output only.
	json bool
	// tty draws a progress bar instead of plain lines, width columns wide
	// at most (0: no limit).
	tty   bool
	width int
	// poll is how often a followed change is asked for its progress.
	poll time.Duration
	// identity finds who runs a decision command.
	identity identitySources
	now      func() time.Time
}

// person finds who runs a decision command, ready to prove it. A person
// without AWS credentials is told that their name goes as a claim.
func (s *session) person(ctx context.Context, f IdentityFlags) (person, error) {
	p, err := s.identity.person(ctx, s.cfg, f)
	if err == nil && p.claims() {
		fmt.Fprintf(s.stderr, "trailgate: no AWS credentials prove who you are: %s goes as a claim, which the worker accepts only where its identity.allow_claims is true (else use --profile NAME or AWS_PROFILE)\n", p.name)
	}
	return p, err
}

// decisionTimeout bounds how long a command waits for the worker to take a
// decision or answer a query.
var decisionTimeout = 30 * time.Second

// changeURL is the Temporal UI page of a change, or empty when no UI is
// configured.
func (s *session) changeURL(changeID string) string {
	base := strings.TrimRight(s.cfg.Temporal.UIURL, "/")
	if base == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", base, url.PathEscape(s.cfg.Temporal.Namespace), url.PathEscape(changeID))
}

func (s *session) printLink(changeID string) {
	if u := s.changeURL(changeID); u != "" && !s.json {
		fmt.Fprintf(s.stdout, "Temporal UI: %s\n", u)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// changeExecution is what Temporal's visibility says about a change.
type changeExecution struct {
	ChangeID string
	Status   enums.WorkflowExecutionStatus
	Action   string
	Phase    string
	Started  time.Time
	Closed   time.Time
}

// Running reports whether the change's workflow is still open.
func (e changeExecution) Running() bool {
	return e.Status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// describe finds a change by ID; an unknown ID is a usage error that says
// how to list the changes.
func (s *session) describe(ctx context.Context, changeID string) (changeExecution, error) {
	if err := workflows.ValidateChangeID(changeID); err != nil {
		return changeExecution{}, usage(err)
	}
	resp, err := s.client.DescribeWorkflowExecution(ctx, changeID, "")
	if err != nil {
		return changeExecution{}, explain(err, changeID, "describe")
	}
	info := resp.GetWorkflowExecutionInfo()
	if info.GetType().GetName() != workflows.ChangeWorkflowName {
		return changeExecution{}, usage(fmt.Errorf("no change %s (%s is a %s workflow); `trailgate list` shows the changes", changeID, changeID, info.GetType().GetName()))
	}
	e := changeExecution{ChangeID: changeID, Status: info.GetStatus()}
	if t := info.GetStartTime(); t != nil {
		e.Started = t.AsTime()
	}
	if t := info.GetCloseTime(); t != nil {
		e.Closed = t.AsTime()
	}
	fields := info.GetSearchAttributes().GetIndexedFields()
	e.Action = keyword(fields[workflows.ActionKey.GetName()])
	e.Phase = keyword(fields[workflows.PhaseKey.GetName()])
	return e, nil
}

// requireRunning refuses to act on a change that has ended.
func (s *session) requireRunning(ctx context.Context, changeID, doing string) error {
	e, err := s.describe(ctx, changeID)
	if err != nil {
		return err
	}
	if !e.Running() {
		return usage(fmt.Errorf("change %s has already ended (%s): there is nothing to %s; `trailgate status %s` shows how it ended", changeID, e.endedAs(), doing, changeID))
	}
	return nil
}

func (e changeExecution) endedAs() string {
	if e.Phase != "" && workflows.Phase(e.Phase).Final() {
		return e.Phase
	}
	return strings.ToLower(strings.TrimPrefix(e.Status.String(), "WORKFLOW_EXECUTION_STATUS_"))
}

// progress returns where a change stands: the progress query while it runs,
// its result (or the details of its failure) once it ended.
func (s *session) progress(ctx context.Context, changeID string) (workflows.ChangeProgress, changeExecution, error) {
	e, err := s.describe(ctx, changeID)
	if err != nil {
		return workflows.ChangeProgress{}, e, err
	}
	if e.Running() {
		p, err := s.query(ctx, changeID)
		return p, e, err
	}
	p, ok := s.result(ctx, changeID)
	if !ok {
		// A terminated change has no result; asked, it says where it
		// stood when Temporal ended it.
		if p, err = s.query(ctx, changeID); err != nil {
			p = workflows.ChangeProgress{ChangeID: changeID, Action: workflows.Action(e.Action)}
		}
	}
	if entry, ok := s.endedByTemporal(ctx, changeID, e); ok {
		p.Record = append(p.Record, entry)
		if e.Status == enums.WORKFLOW_EXECUTION_STATUS_TERMINATED {
			p.Phase, p.Awaiting = workflows.PhaseTerminated, nil
		}
	}
	return p, e, nil
}

// endedByTemporal is the record entry of a change that Temporal itself
// terminated or was asked to cancel (its CLI, UI or API): who asked, when
// and why, as far as Temporal's history tells.
func (s *session) endedByTemporal(ctx context.Context, changeID string, e changeExecution) (workflows.RecordEntry, bool) {
	if e.Status != enums.WORKFLOW_EXECUTION_STATUS_TERMINATED && e.Status != enums.WORKFLOW_EXECUTION_STATUS_CANCELED {
		return workflows.RecordEntry{}, false
	}
	iter := s.client.GetWorkflowHistory(ctx, changeID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			break
		}
		at := ev.GetEventTime().AsTime().UTC()
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			return workflows.RecordEntry{At: at, Kind: recordTerminated, People: nonEmpty(a.GetIdentity()),
				Detail: "terminated through Temporal" + byWhom(a.GetIdentity()) + comment(a.GetReason()) + ": it ran no code of its own to end, so organizations under way may have been left where they stood"}, true
		}
		if a := ev.GetWorkflowExecutionCancelRequestedEventAttributes(); a != nil {
			return workflows.RecordEntry{At: at, Kind: recordCancelRequested, People: nonEmpty(a.GetIdentity()),
				Detail: "cancellation requested through Temporal" + byWhom(a.GetIdentity()) + comment(a.GetCause())}, true
		}
	}
	return workflows.RecordEntry{}, false
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func byWhom(identity string) string {
	if identity == "" {
		return ""
	}
	return " by " + identity
}

func comment(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func (s *session) query(ctx context.Context, changeID string) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	qctx, cancel := context.WithTimeout(ctx, decisionTimeout)
	defer cancel()
	v, err := s.client.QueryWorkflow(qctx, changeID, "", workflows.QueryProgress)
	if err != nil {
		return p, explain(err, changeID, "ask for the progress of")
	}
	if err := v.Get(&p); err != nil {
		return p, fmt.Errorf("read the progress of change %s: %w", changeID, err)
	}
	return p, nil
}

// result reads a finished change's ChangeProgress from its result or from
// the details of its ChangeFailed error.
func (s *session) result(ctx context.Context, changeID string) (workflows.ChangeProgress, bool) {
	var p workflows.ChangeProgress
	err := s.client.GetWorkflow(ctx, changeID, "").Get(ctx, &p)
	if err == nil {
		return p, true
	}
	return failedProgress(err)
}

// failedProgress reads the ChangeProgress a failed change carries in its
// error: a ChangeFailed error, or the refusal of its request.
func failedProgress(err error) (workflows.ChangeProgress, bool) {
	var (
		p   workflows.ChangeProgress
		app *temporal.ApplicationError
	)
	if errors.As(err, &app) && app.HasDetails() {
		if app.Details(&p) == nil && p.ChangeID != "" {
			return p, true
		}
	}
	return p, false
}

// question is a short workflow that changes nothing, run on the worker's
// task queue for its answer: a plan, or who a proof proves.
type question struct {
	workflowID string
	workflow   string
	input      any
	summary    string
	timeout    time.Duration
	// doing says what was asked, for errors: "plan enable".
	doing string
}

// ask runs a question and reads its answer. An application error is the
// worker's refusal, with its reason (exit status 2).
func (s *session) ask(ctx context.Context, q question, answer any) error {
	qctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	run, err := s.client.ExecuteWorkflow(qctx, client.StartWorkflowOptions{
		ID:                       q.workflowID,
		TaskQueue:                s.cfg.Temporal.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionTimeout: q.timeout,
		StaticSummary:            q.summary,
	}, q.workflow, q.input)
	if err != nil {
		return fmt.Errorf("%s: %w", q.doing, err)
	}
	err = run.Get(qctx, answer)
	var (
		app     *temporal.ApplicationError
		expired *temporal.TimeoutError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &app):
		return &refusal{by: "the worker", reason: app.Message()}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &expired):
		return fmt.Errorf("%s: the worker did not answer within %s (is trailgate-worker running on task queue %s? `trailgate doctor` checks)", q.doing, q.timeout, s.cfg.Temporal.TaskQueue)
	}
	return fmt.Errorf("%s: %w", q.doing, err)
}

// keyword reads a Keyword search attribute's value; empty when unset.
func keyword(p *commonpb.Payload) string {
	if p == nil {
		return ""
	}
	var s string
	if converter.GetDefaultDataConverter().FromPayload(p, &s) == nil {
		return s
	}
	var list []string
	if converter.GetDefaultDataConverter().FromPayload(p, &list) == nil && len(list) > 0 {
		return list[0]
	}
	return ""
}
