package workflows_test

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/workflows"
)

// continuedWith is the input a change continued as new with.
func continuedWith(t *testing.T, err error) workflows.ChangeInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("the change ended with %v; want it to continue as new", err)
	}
	var in workflows.ChangeInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
		t.Fatal(err)
	}
	if in.Carried == nil {
		t.Fatal("the change continued as new without its progress")
	}
	return in
}

// When Temporal suggests it, a change continues as new before its next
// wave, and the next run finishes the change from where it stood: the
// organizations of ended waves are not touched again.
func TestChangeContinuesAsNewBeforeItsNextWave(t *testing.T) {
	h := newChangeHarness(t)
	h.env.SetContinueAsNewSuggested(true)
	h.approveAt(time.Hour, "alice", "bob")
	_, err := h.run(changeInput("acme-prod", "globex"))
	next := continuedWith(t, err)
	if p := next.Carried.Progress; p.CurrentWave != 2 || p.Waves[0].Phase != workflows.PhaseSucceeded || len(h.enabled) != 1 {
		t.Fatalf("continued as new at wave %d (wave 1 %s, enabled %v); want after wave 1", p.CurrentWave, p.Waves[0].Phase, h.enabled)
	}

	// The test suite cannot start a run as the change's own continuation
	// (TestChangeContinuesAsNewBetweenWaves does, on Temporal's server):
	// started by anyone else, the carried input is refused before anything
	// runs.
	h2 := newChangeHarness(t)
	_, err = h2.run(next)
	if err == nil || len(h2.enabled) != 0 {
		t.Fatalf("a carried input started as a new change ran (%v, enabled %v)", err, h2.enabled)
	}
	wantIn(t, err, "carried is set only by a change continuing as new")
}

// A change ends in the run that ran its last wave: there is nothing left to
// continue with.
func TestChangeEndsInTheRunOfItsLastWave(t *testing.T) {
	h := newChangeHarness(t)
	h.env.SetContinueAsNewSuggested(true)
	h.approveAt(time.Hour, "alice", "bob")
	h.runTo(one(workflows.ActionEnable), workflows.PhaseSucceeded)
}

// Without Temporal's suggestion, a change continues as new once its history
// is longer than its budget, and not before.
func TestChangeContinuesAsNewOnlyPastItsHistoryBudget(t *testing.T) {
	defer workflows.SetHistoryBudget(500)()
	for _, tc := range []struct {
		length    int
		continues bool
	}{{500, false}, {501, true}} {
		h := newChangeHarness(t)
		h.env.SetCurrentHistoryLength(tc.length)
		h.approveAt(time.Hour, "alice", "bob")
		h.approveAt(2*time.Hour, "alice", "bob")
		_, err := h.run(changeInput("acme-prod", "globex"))
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) != tc.continues {
			t.Errorf("history of %d events with a budget of 500: ended with %v; continues as new: want %v", tc.length, err, tc.continues)
		}
	}
}
