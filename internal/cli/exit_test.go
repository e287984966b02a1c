package cli

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

func TestExitStatus(t *testing.T) {
	failed := workflows.ChangeProgress{ChangeID: "c", Phase: workflows.PhaseHalted, Failed: 1}
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"verified", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseSucceeded}), 0},
		{"nothing to do", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseNoChange}), 0},
		{"halted", outcomeError(failed), 1},
		{"rejected", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseRejected}), 1},
		{"expired", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseExpired}), 1},
		{"cancelled", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseCancelled}), 1},
		{"configuration", fmt.Errorf("load: %w", &config.ValidationError{Problems: []string{"a", "b"}}), 2},
		{"unknown change", explain(serviceerror.NewNotFound("workflow not found"), "c", "approve"), 2},
		{"exists", explain(serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", ""), "c", "start"), 2},
		{"refused", explain(temporal.NewApplicationError("alice has already approved this change", workflows.ErrDecisionRefused), "c", "approve"), 2},
		{"refused request", &refusal{by: "the worker", reason: "change c: the proof is bob's"}, 2},
		{"unreachable", explain(errors.New("connection refused"), "c", "approve"), 1},
	} {
		if got := ExitStatus(c.err); got != c.want {
			t.Errorf("%s: exit status %d, want %d (%v)", c.name, got, c.want, c.err)
		}
	}
	if err := explain(serviceerror.NewNotFound("x"), "chg-1", "approve"); err.Error() != "no change chg-1; `trailgate list` shows the changes" {
		t.Errorf("unknown change: %q", err)
	}
	refused := explain(temporal.NewApplicationError("dave requested this change and cannot approve it", workflows.ErrDecisionRefused), "chg-1", "approve")
	if refused.Error() != "refused by change chg-1: dave requested this change and cannot approve it" {
		t.Errorf("refusal: %q", refused)
	}
}

func TestFailedProgressOfARefusedRequest(t *testing.T) {
	p := sampleProgress()
	p.Phase = workflows.PhaseRejected
	err := temporal.NewNonRetryableApplicationError("the proof is bob's, not dave's", workflows.ErrDecisionRefused, nil, p)
	got, ok := failedProgress(fmt.Errorf("workflow failed: %w", err))
	if !ok || got.ChangeID != p.ChangeID || got.Phase != workflows.PhaseRejected {
		t.Errorf("a refused request's progress: %+v %v", got, ok)
	}
	if _, ok := failedProgress(temporal.NewApplicationError("no details", workflows.ErrDecisionRefused)); ok {
		t.Errorf("an error without a change's progress has none")
	}
}
