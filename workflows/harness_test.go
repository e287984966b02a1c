package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

var acts = &activities.Activities{}

const trailARN = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"

// harness runs changes in the workflow test suite, with the AWS activities
// answered in memory and a worker whose policy accepts claimed names, so
// that gate rules can be tested by name (proofs are tested against the
// sandbox, in the integration tests).
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	// policy is what the worker's configuration says; tests may change it
	// before running a change.
	policy workflows.GatePolicy
	// noTrail resolves organizations without a managed trail.
	noTrail bool
	// preflight, when set, answers the Preflight activity.
	preflight func() (activities.Identity, error)
	reminders []activities.Reminder
	// webhook, when set, answers each attempt to deliver a reminder.
	webhook func(activities.Reminder) error
	// calls counts the calls of activities, by name.
	calls map[string]int
	// resolved are the organizations each ResolveChange was asked for, in
	// order ("policy only:" first when it was); resolve, when set, may
	// refuse one.
	resolved []string
	resolve  func(activities.ResolveInput) error
	// unanswered, when set, says whether a query of a workflow goes
	// unanswered this time, as one a busy Temporal timed out.
	unanswered func(activities.QueryInput) bool
}

// newHarness answers the AWS activities one by one, as organizations'
// workflows called them before versionFewerCalls: tests of the gates and
// the procedure set each call's answer. newFewerCallsHarness answers the
// activities organizations' workflows call since.
func newHarness(t *testing.T) *harness {
	h := newHarnessOf(t)
	h.env.OnGetVersion(workflows.VersionFewerCalls, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	return h
}

func newHarnessOf(t *testing.T) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env)
	env.RegisterActivity(acts)
	h := &harness{t: t, env: env, calls: map[string]int{}, policy: workflows.GatePolicy{
		RequiredApprovals: 2,
		Approvers:         []string{"alice", "bob", "dave"},
		CloudTrailAdmins:  []string{"carol"},
		AllowClaims:       true,
		Timeout:           7 * 24 * time.Hour,
		ReminderEvery:     24 * time.Hour,
	}}
	env.OnActivity(acts.ResolveChange, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ResolveInput) (activities.Resolution, error) {
		asked := strings.Join(in.Organizations, ",")
		if in.PolicyOnly {
			asked = "policy only: " + asked
		}
		h.resolved = append(h.resolved, asked)
		if h.resolve != nil {
			if err := h.resolve(in); err != nil {
				return activities.Resolution{}, err
			}
		}
		res := activities.Resolution{Policy: h.policy, Organizations: []activities.OrgInput{}}
		if in.PolicyOnly {
			return res, nil
		}
		for _, name := range in.Organizations {
			o := activities.OrgInput{Organization: name, ManagementAccountID: "111111111111"}
			if in.ManageTrail && !h.noTrail {
				o.Trail = activities.TrailSettings{Name: "org-trail", Bucket: "org-trail-bucket", MultiRegion: true}
			}
			res.Organizations = append(res.Organizations, o)
		}
		return res, nil
	}).Maybe()
	env.OnActivity(acts.Preflight, mock.Anything, mock.Anything).Return(func(context.Context, activities.OrgInput) (activities.Identity, error) {
		h.calls["preflight"]++
		if h.preflight != nil {
			return h.preflight()
		}
		return activities.Identity{
			AccountID: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/TrailgateOperator/trailgate",
			OrganizationID: "o-abc123", ManagementAccountID: "111111111111", FeatureSet: "ALL",
		}, nil
	}).Maybe()
	// A change and its targets read each other's queries, as the worker's
	// Temporal client would.
	env.OnActivity(acts.AskWorkflow, mock.Anything, mock.Anything).Return(h.askWorkflow).Maybe()
	env.OnActivity(acts.AskWorkflows, mock.Anything, mock.Anything).Return(func(ctx context.Context, in []activities.QueryInput) ([]activities.Answer, error) {
		out := make([]activities.Answer, len(in))
		for i, q := range in {
			said, err := h.askWorkflow(ctx, q)
			if err != nil {
				out[i].Error = err.Error()
			}
			out[i].Said = said
		}
		return out, nil
	}).Maybe()
	env.OnActivity(acts.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.Reminder) error {
		h.reminders = append(h.reminders, r)
		if len(h.reminders) == 1000 {
			// A change that reminds without end never lets time pass:
			// stop it, or the test would never end.
			h.t.Errorf("1000 reminders: the change reminds without end")
			h.env.CancelWorkflow()
		}
		if h.webhook != nil {
			return h.webhook(r)
		}
		return nil
	}).Maybe()
	return h
}

// askWorkflow reads a workflow's query in the test environment, as the
// worker's Temporal client would.
func (h *harness) askWorkflow(_ context.Context, in activities.QueryInput) (json.RawMessage, error) {
	var args []any
	if in.Arg != "" {
		args = append(args, in.Arg)
	}
	if h.unanswered != nil && h.unanswered(in) {
		return nil, errors.New("context deadline exceeded")
	}
	id := in.WorkflowID
	if id == "chg-1" {
		id = "default-test-workflow-id"
	}
	v, err := h.env.QueryWorkflowByID(id, in.Query, args...)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	err = v.Get(&raw)
	return raw, err
}

// on answers an activity, whatever its context and input.
func (h *harness) on(activity any) *testsuite.MockCallWrapper {
	return h.env.OnActivity(activity, mock.Anything, mock.Anything)
}

// onVerifyEnabledOf answers the verification of an enable only when it
// is asked to see exactly the trail arn logging.
func (h *harness) onVerifyEnabledOf(arn string) *testsuite.MockCallWrapper {
	return h.env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.MatchedBy(func(in activities.VerifyInput) bool {
		return len(in.TrailARNs) == 1 && in.TrailARNs[0] == arn
	}))
}

// counted answers an activity that takes an organization and returns only
// an error, counting its calls under name.
func (h *harness) counted(name string, activity any) {
	h.on(activity).Return(func(context.Context, activities.OrgInput) (activities.Mutation, error) {
		h.calls[name]++
		return activities.Mutation{}, nil
	}).Maybe()
}

// as is a person by name, as a claim.
func as(name string) workflows.Who { return workflows.Who{By: name} }

// at runs f after d of workflow time.
func (h *harness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

// update sends an update and returns its refusal, by its validator or its
// handler, if any.
func (h *harness) update(name string, arg any, refused *error) {
	h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { *refused = err },
		OnComplete: func(_ any, err error) {
			if err != nil {
				*refused = err
			}
		},
	}, arg)
}

// approveAt approves the current wave by each of who after d.
func (h *harness) approveAt(d time.Duration, who ...string) {
	h.at(d, func() {
		for _, name := range who {
			h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as(name)})
		}
	})
}

func (h *harness) mustUpdate(name string, arg any) {
	h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { h.t.Errorf("update %s %+v refused: %v", name, arg, err) },
		OnComplete: func(_ any, err error) {
			if err != nil {
				h.t.Errorf("update %s %+v refused: %v", name, arg, err)
			}
		},
	}, arg)
}

// changeInput is a change requested by dave over the organizations, in
// waves of one and the rest, each approved.
func changeInput(orgs ...string) workflows.ChangeInput {
	return workflows.ChangeInput{
		ChangeID: "chg-1", Action: workflows.ActionEnable, Waves: []string{"1", "rest"}, ApproveEveryWave: true,
		Organizations: orgs, Requester: as("dave"),
	}
}

// one is a change of one organization, acme-prod, in one wave.
func one(action workflows.Action) workflows.ChangeInput {
	in := changeInput("acme-prod")
	in.Action, in.Waves = action, nil
	return in
}

func (h *harness) run(in workflows.ChangeInput) (workflows.ChangeProgress, error) {
	h.env.ExecuteWorkflow(workflows.ChangeWorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("change did not complete")
	}
	var p workflows.ChangeProgress
	err := h.env.GetWorkflowError()
	if err == nil {
		_ = h.env.GetWorkflowResult(&p)
	} else if appErr := applicationError(err); appErr != nil {
		_ = appErr.Details(&p)
	}
	return p, err
}

// applicationError is the application error err is or wraps, or nil.
func applicationError(err error) *temporal.ApplicationError {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr
	}
	return nil
}

// errorType is the type of the application error err is or wraps; empty
// when there is none.
func errorType(err error) string {
	if appErr := applicationError(err); appErr != nil {
		return appErr.Type()
	}
	return ""
}

// runTo runs the change and fails the test unless it ended in phase
// without an error.
func (h *harness) runTo(in workflows.ChangeInput, phase workflows.Phase) workflows.ChangeProgress {
	h.t.Helper()
	p, err := h.run(in)
	if err != nil || p.Phase != phase {
		h.t.Fatalf("the change ended %s, err %v; want %s", p.Phase, err, phase)
	}
	return p
}

func (h *harness) progress() workflows.ChangeProgress {
	q, err := h.env.QueryWorkflow(workflows.QueryProgress)
	if err != nil {
		h.t.Fatal(err)
	}
	var p workflows.ChangeProgress
	if err := q.Get(&p); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func offState() workflows.State {
	return workflows.State{OrganizationID: "o-abc123", ManagementAccountID: "111111111111"}
}

// roleOnly is an organization with CloudTrail's service-linked role but
// without trusted access.
func roleOnly() workflows.State {
	st := offState()
	st.ServiceLinkedRole = true
	return st
}

func wantIn(t *testing.T, err error, sub string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), sub) {
		t.Errorf("error %v does not say %q", err, sub)
	}
}

// refusals are the refused attempts in a change record.
func refusals(p workflows.ChangeProgress) []workflows.RecordEntry {
	var out []workflows.RecordEntry
	for _, e := range p.Record {
		if e.Kind == "refused" {
			out = append(out, e)
		}
	}
	return out
}

func recordKinds(record []workflows.RecordEntry) string {
	var kinds []string
	for _, e := range record {
		kinds = append(kinds, string(e.Kind))
	}
	return strings.Join(kinds, " ")
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
