package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

// changes makes every call trailgate makes to Temporal about changes: it
// starts them, describes them and asks where they stand, sends them
// decisions, lists them, and asks the worker short questions (a plan, who a
// proof proves, an audit).
type changes struct {
	client    client.Client
	namespace string
	taskQueue string
}

// decisionTimeout bounds how long a command waits for the worker to take a
// decision or answer a query.
var decisionTimeout = 30 * time.Second

// targetTimeout bounds one question to one organization's workflow.
const targetTimeout = 10 * time.Second

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

func (e changeExecution) endedAs() string {
	if e.Phase != "" && workflows.Phase(e.Phase).Final() {
		return e.Phase
	}
	return statusWord(e.Status)
}

// statusWord is a workflow's status as one lower-case word: running,
// completed, terminated…
func statusWord(s enums.WorkflowExecutionStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_"))
}

// start starts the change workflow of ci (ID = change ID); a change of the
// same ID, running or ended, makes it fail.
func (c changes) start(ctx context.Context, ci workflows.ChangeInput) error {
	opts := client.StartWorkflowOptions{
		ID:                                       ci.ChangeID,
		TaskQueue:                                c.taskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.ChangeIDKey.ValueSet(ci.ChangeID),
			workflows.ActionKey.ValueSet(string(ci.Action)),
			workflows.PhaseKey.ValueSet(string(workflows.PhasePending)),
		),
		StaticSummary:       changeSummary(ci),
		WorkflowTaskTimeout: workflows.ChangeTaskTimeout,
	}
	if _, err := c.client.ExecuteWorkflow(ctx, opts, workflows.ChangeWorkflowName, ci); err != nil {
		return explain(err, ci.ChangeID, "start")
	}
	return nil
}

// startFailure says why a change ended as soon as it started.
func (c changes) startFailure(ctx context.Context, changeID string) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	err := c.client.GetWorkflow(ctx, changeID, "").Get(ctx, &p)
	if err == nil {
		return p, nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return p, &refusal{by: "the worker", reason: fmt.Sprintf("change %s: %s", changeID, app.Message())}
	}
	return p, fmt.Errorf("change %s ended as it started: %w", changeID, err)
}

// describe finds a change by ID; an unknown ID is a usage error that says
// how to list the changes.
func (c changes) describe(ctx context.Context, changeID string) (changeExecution, error) {
	if err := workflows.ValidateChangeID(changeID); err != nil {
		return changeExecution{}, usage(err)
	}
	resp, err := c.client.DescribeWorkflowExecution(ctx, changeID, "")
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
	// A change that continued as new started with its first run.
	if first := info.GetFirstRunId(); first != "" && first != info.GetExecution().GetRunId() {
		if d, err := c.client.DescribeWorkflowExecution(ctx, changeID, first); err == nil && d.GetWorkflowExecutionInfo().GetStartTime() != nil {
			e.Started = d.GetWorkflowExecutionInfo().GetStartTime().AsTime()
		}
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
func (c changes) requireRunning(ctx context.Context, changeID, doing string) error {
	e, err := c.describe(ctx, changeID)
	if err != nil {
		return err
	}
	if !e.Running() {
		return usage(fmt.Errorf("change %s has already ended (%s): there is nothing to %s; `trailgate status %s` shows how it ended", changeID, e.endedAs(), doing, changeID))
	}
	return nil
}

// progress returns where a change stands: the progress query while it runs,
// its result (or the details of its failure) once it ended.
func (c changes) progress(ctx context.Context, changeID string) (workflows.ChangeProgress, changeExecution, error) {
	e, err := c.describe(ctx, changeID)
	if err != nil {
		return workflows.ChangeProgress{}, e, err
	}
	if e.Running() {
		p, err := c.query(ctx, changeID)
		return p, e, err
	}
	p, ok := c.result(ctx, changeID)
	if !ok {
		// A terminated change has no result; asked, it says where it
		// stood when Temporal ended it.
		if p, err = c.query(ctx, changeID); err != nil {
			p = workflows.ChangeProgress{ChangeID: changeID, Action: workflows.Action(e.Action)}
		}
	}
	if entry, ok := c.endedByTemporal(ctx, changeID, e); ok {
		p.Record = append(p.Record, entry)
		if e.Status == enums.WORKFLOW_EXECUTION_STATUS_TERMINATED {
			p.Phase, p.Awaiting = workflows.PhaseTerminated, nil
		}
	}
	return p, e, nil
}

// The kinds of the record lines the CLI adds from Temporal, not from the
// change's record: a retry while following a change, and a change ended or
// asked to end through Temporal itself.
const (
	recordRetrying        workflows.RecordKind = "retrying"
	recordTerminated      workflows.RecordKind = "terminated"
	recordCancelRequested workflows.RecordKind = "cancel-requested"
)

// endedByTemporal is the record entry of a change that Temporal itself
// terminated or was asked to cancel (its CLI, UI or API): who asked, when
// and why, as far as Temporal's history tells.
func (c changes) endedByTemporal(ctx context.Context, changeID string, e changeExecution) (workflows.RecordEntry, bool) {
	if e.Status != enums.WORKFLOW_EXECUTION_STATUS_TERMINATED && e.Status != enums.WORKFLOW_EXECUTION_STATUS_CANCELED {
		return workflows.RecordEntry{}, false
	}
	iter := c.client.GetWorkflowHistory(ctx, changeID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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

func (c changes) query(ctx context.Context, changeID string) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	qctx, cancel := context.WithTimeout(ctx, decisionTimeout)
	defer cancel()
	v, err := c.client.QueryWorkflow(qctx, changeID, "", workflows.QueryProgress)
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
func (c changes) result(ctx context.Context, changeID string) (workflows.ChangeProgress, bool) {
	p, err := c.awaitEnd(ctx, changeID)
	if err == nil {
		return p, true
	}
	return failedProgress(err)
}

// awaitEnd waits until a change's workflow closes and returns its result.
func (c changes) awaitEnd(ctx context.Context, changeID string) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	err := c.client.GetWorkflow(ctx, changeID, "").Get(ctx, &p)
	return p, err
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

// decide sends a decision to a change that must be running, and returns
// its progress after the decision. An ended or unknown change and a refusal
// each come back as a clear usage error.
func (c changes) decide(ctx context.Context, changeID, name, doing string, arg any) (workflows.ChangeProgress, error) {
	if err := c.requireRunning(ctx, changeID, doing); err != nil {
		return workflows.ChangeProgress{}, err
	}
	return c.update(ctx, changeID, name, doing, arg)
}

// update sends a decision to a change and returns its progress after the
// decision.
func (c changes) update(ctx context.Context, changeID, name, doing string, arg any) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	uctx, cancel := context.WithTimeout(ctx, decisionTimeout)
	defer cancel()
	h, err := c.client.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID:   changeID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return p, explain(err, changeID, doing)
	}
	if err := h.Get(uctx, &p); err != nil {
		return p, explain(err, changeID, doing)
	}
	return p, nil
}

// list lists at most limit changes, newest first.
func (c changes) list(ctx context.Context, limit int) ([]ChangeListing, error) {
	var (
		listed     []ChangeListing
		firstStart = map[string]time.Time{}
		token      []byte
	)
	for len(listed) < limit {
		resp, err := c.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         fmt.Sprintf("WorkflowType = '%s'", workflows.ChangeWorkflowName),
			NextPageToken: token,
			PageSize:      int32(min(limit, 1000)),
		})
		if err != nil {
			return nil, fmt.Errorf("list changes in namespace %s: %w", c.namespace, err)
		}
		for _, info := range resp.GetExecutions() {
			id := info.GetExecution().GetWorkflowId()
			started := info.GetStartTime().AsTime().UTC()
			if t, ok := firstStart[id]; !ok || started.Before(t) {
				firstStart[id] = started
			}
			// A change that continued as new appears once per run; its
			// latest run says where it stands.
			if info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				continue
			}
			fields := info.GetSearchAttributes().GetIndexedFields()
			l := ChangeListing{
				ChangeID: id,
				Action:   keyword(fields[workflows.ActionKey.GetName()]),
				Phase:    keyword(fields[workflows.PhaseKey.GetName()]),
				Status:   statusWord(info.GetStatus()),
			}
			if t := info.GetCloseTime(); t != nil {
				l.Ended = t.AsTime().UTC()
			}
			if info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_TERMINATED {
				l.Phase = string(workflows.PhaseTerminated)
			}
			listed = append(listed, l)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	for i := range listed {
		listed[i].Started = firstStart[listed[i].ChangeID]
	}
	sort.SliceStable(listed, func(i, j int) bool { return listed[i].Started.After(listed[j].Started) })
	if len(listed) > limit {
		listed = listed[:limit]
	}
	if listed == nil {
		listed = []ChangeListing{}
	}
	return listed, nil
}

// targetProgress asks one organization's workflow of a change where it
// stands: its progress query, or its result once it ended. ok is false when
// the workflow never started (a wave that did not run).
func (c changes) targetProgress(ctx context.Context, workflowID string) (tp workflows.TargetProgress, ok bool, err error) {
	qctx, cancel := context.WithTimeout(ctx, targetTimeout)
	defer cancel()
	v, err := c.client.QueryWorkflow(qctx, workflowID, "", workflows.QueryProgress)
	if err == nil {
		if err := v.Get(&tp); err != nil {
			return tp, false, fmt.Errorf("read the progress of %s: %w", workflowID, err)
		}
		return tp, true, nil
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return tp, false, nil
	}
	// An ended workflow answers with its result, or its failure's details.
	gerr := c.client.GetWorkflow(qctx, workflowID, "").Get(qctx, &tp)
	if gerr == nil {
		return tp, true, nil
	}
	var app *temporal.ApplicationError
	if errors.As(gerr, &app) && app.HasDetails() && app.Details(&tp) == nil {
		return tp, true, nil
	}
	return tp, false, fmt.Errorf("ask %s where it stands: %w", workflowID, err)
}

// maxLiveTargets bounds how many organizations' workflows are asked per
// round, so that following a large change stays light.
const maxLiveTargets = 20

// working reports whether an organization's workflow may be calling AWS.
func working(p workflows.Phase) bool {
	switch p {
	case workflows.PhasePreflight, workflows.PhasePlanning, workflows.PhaseApplying, workflows.PhaseVerifying:
		return true
	}
	return false
}

// retries lists the calls the change's organizations are retrying, asking
// at most maxLiveTargets of the organizations at work.
func (c changes) retries(ctx context.Context, p workflows.ChangeProgress) []Retry {
	var out []Retry
	asked := 0
	for _, t := range p.Targets {
		if !working(t.Phase) || asked == maxLiveTargets {
			continue
		}
		asked++
		out = append(out, c.retriesOf(ctx, t)...)
	}
	return out
}

// retriesOf lists the pending activities of one organization's workflow
// that are past their first attempt.
func (c changes) retriesOf(ctx context.Context, t workflows.TargetSummary) []Retry {
	qctx, cancel := context.WithTimeout(ctx, targetTimeout)
	defer cancel()
	d, err := c.client.DescribeWorkflowExecution(qctx, t.WorkflowID, "")
	if err != nil {
		return nil
	}
	var out []Retry
	for _, a := range d.GetPendingActivities() {
		if a.GetAttempt() < 2 {
			continue
		}
		r := Retry{Organization: t.Organization, Call: callOf(a), Attempt: a.GetAttempt(), LastError: a.GetLastFailure().GetMessage()}
		if ts := a.GetNextAttemptScheduleTime(); ts != nil {
			r.NextAttempt = ts.AsTime().UTC()
		}
		if ts := a.GetLastAttemptCompleteTime(); ts != nil {
			r.Since = ts.AsTime().UTC()
		}
		out = append(out, r)
	}
	return out
}

// callOf names the call a pending activity retries: its type and, for
// the activity that makes a plan's mutations, the step that failed.
func callOf(a *workflowpb.PendingActivityInfo) string {
	name := a.GetActivityType().GetName()
	var res activities.ApplyResult
	details := a.GetLastFailure().GetApplicationFailureInfo().GetDetails()
	if name == applyMutations && details != nil && converter.GetDefaultDataConverter().FromPayloads(details, &res) == nil && res.Failed != "" {
		name += " (" + string(res.Failed) + ")"
	}
	return name
}

// applyMutations is the name of the activity that makes a plan's
// mutations, as the worker registers it (after its method).
const applyMutations = "ApplyMutations"

// question is a short workflow that changes nothing, run on the worker's
// task queue for its answer: a plan, who a proof proves, an audit.
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
func (c changes) ask(ctx context.Context, q question, answer any) error {
	qctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	run, err := c.client.ExecuteWorkflow(qctx, client.StartWorkflowOptions{
		ID:                       q.workflowID,
		TaskQueue:                c.taskQueue,
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
		return fmt.Errorf("%s: the worker did not answer within %s (is trailgate-worker running on task queue %s? `trailgate doctor` checks)", q.doing, q.timeout, c.taskQueue)
	}
	return fmt.Errorf("%s: %w", q.doing, err)
}

// auditSchedule is the worker's schedule of drift audits.
func (c changes) auditSchedule(ctx context.Context) client.ScheduleHandle {
	return c.client.ScheduleClient().GetHandle(ctx, workflows.AuditScheduleID)
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
