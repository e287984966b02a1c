package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/workflows"
)

// targetTimeout bounds one question to one organization's workflow.
const targetTimeout = 10 * time.Second

// targetProgress asks one organization's workflow of a change where it
// stands: its progress query, or its result once it ended. ok is false when
// the workflow never started (a wave that did not run).
func (s *session) targetProgress(ctx context.Context, workflowID string) (tp workflows.TargetProgress, ok bool, err error) {
	qctx, cancel := context.WithTimeout(ctx, targetTimeout)
	defer cancel()
	v, err := s.client.QueryWorkflow(qctx, workflowID, "", workflows.QueryProgress)
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
	gerr := s.client.GetWorkflow(qctx, workflowID, "").Get(qctx, &tp)
	if gerr == nil {
		return tp, true, nil
	}
	var app *temporal.ApplicationError
	if errors.As(gerr, &app) && app.HasDetails() && app.Details(&tp) == nil {
		return tp, true, nil
	}
	return tp, false, fmt.Errorf("ask %s where it stands: %w", workflowID, err)
}

// mergeEntries puts the change's and its organizations' entries in one
// timeline.
func mergeEntries(change []workflows.RecordEntry, targets []workflows.TargetProgress) []workflows.RecordEntry {
	entries := append([]workflows.RecordEntry{}, change...)
	// The change records each organization's outcome with its error; the
	// organization's own outcome entry would say it twice.
	outcome := map[string]bool{}
	for _, e := range change {
		if e.Kind == workflows.RecordOutcome && e.Organization != "" {
			outcome[e.Organization] = true
		}
	}
	for _, t := range targets {
		for _, e := range t.Record {
			if e.Kind == workflows.RecordOutcome && outcome[e.Organization] {
				continue
			}
			entries = append(entries, e)
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].At.Before(entries[j].At) })
	return entries
}
