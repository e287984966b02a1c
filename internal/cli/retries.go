package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/trailgate/trailgate/workflows"
)

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

// The kinds of the record lines the CLI adds from Temporal, not from the
// change's record: a retry while following a change, and a change ended or
// asked to end through Temporal itself.
const (
	recordRetrying        workflows.RecordKind = "retrying"
	recordTerminated      workflows.RecordKind = "terminated"
	recordCancelRequested workflows.RecordKind = "cancel-requested"
)

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
func (s *session) retries(ctx context.Context, p workflows.ChangeProgress) []Retry {
	var out []Retry
	asked := 0
	for _, t := range p.Targets {
		if !working(t.Phase) || asked == maxLiveTargets {
			continue
		}
		asked++
		out = append(out, s.retriesOf(ctx, t)...)
	}
	return out
}

// retriesOf lists the pending activities of one organization's workflow
// that are past their first attempt.
func (s *session) retriesOf(ctx context.Context, t workflows.TargetSummary) []Retry {
	qctx, cancel := context.WithTimeout(ctx, targetTimeout)
	defer cancel()
	d, err := s.client.DescribeWorkflowExecution(qctx, t.WorkflowID, "")
	if err != nil {
		return nil
	}
	var out []Retry
	for _, a := range d.GetPendingActivities() {
		if a.GetAttempt() < 2 {
			continue
		}
		r := Retry{Organization: t.Organization, Call: a.GetActivityType().GetName(), Attempt: a.GetAttempt(), LastError: a.GetLastFailure().GetMessage()}
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

// describe says a retry in one line.
func (r Retry) describe() string {
	s := fmt.Sprintf("%s: attempt %d", r.Call, r.Attempt)
	if !r.NextAttempt.IsZero() {
		s += ", next at " + clock(r.NextAttempt) + " UTC"
	}
	if r.LastError != "" {
		s += "; last error: " + r.LastError
	}
	return s
}

// entry is a retry as a line of the followed record.
func (r Retry) entry() workflows.RecordEntry {
	at := r.Since
	if at.IsZero() {
		at = time.Now().UTC()
	}
	return workflows.RecordEntry{At: at, Organization: r.Organization, Kind: recordRetrying, Detail: r.describe()}
}
