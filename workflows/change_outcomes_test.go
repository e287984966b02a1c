package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/workflows"
)

// outcomeOf is what the change record says an organization ended as.
func outcomeOf(p workflows.ChangeProgress, org string) string {
	out := ""
	for _, e := range p.Record {
		if e.Organization == org && e.Kind == "outcome" {
			out = e.Detail
		}
	}
	return out
}

func targetOf(t *testing.T, p workflows.ChangeProgress, org string) workflows.TargetSummary {
	t.Helper()
	for _, tg := range p.Targets {
		if tg.Organization == org {
			return tg
		}
	}
	t.Fatalf("no organization %s in %+v", org, p.Targets)
	return workflows.TargetSummary{}
}

// An organization that fails shows, in status and in the record, the error
// its own procedure ended with (what AWS said), not the workflow machinery
// around it; one that succeeds shows no error.
func TestAFailedOrganizationShowsWhatAWSSaid(t *testing.T) {
	h := newChangeHarness(t, "acme-staging")
	in := changeInput("acme-prod", "acme-staging")
	in.Waves, in.FailureBudget = nil, 1
	h.approveAt(time.Hour, "alice", "bob")
	p, err := h.run(in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrChangeFailed || p.Phase != workflows.PhaseFailed {
		t.Fatalf("phase %s, err %v; want the change failed", p.Phase, err)
	}
	failed := targetOf(t, p, "acme-staging")
	if failed.Phase != workflows.PhaseFailed || !strings.Contains(failed.Error, "enable trusted access in organization acme-staging: AccessDeniedException: denied") {
		t.Errorf("acme-staging ended %s with error %q; want AWS's refusal", failed.Phase, failed.Error)
	}
	if strings.Contains(failed.Error, "child workflow") {
		t.Errorf("acme-staging's error is the workflow machinery's: %q", failed.Error)
	}
	if got := outcomeOf(p, "acme-staging"); !strings.HasPrefix(got, "failed: ") || !strings.Contains(got, "AccessDeniedException: denied") {
		t.Errorf("the record says acme-staging ended %q; want failed, with AWS's refusal", got)
	}
	if got := outcomeOf(p, ""); got != "failed: 1 of 2 organization(s) ended well, 1 failed" {
		t.Errorf("the record says the change ended %q", got)
	}
	if ok := targetOf(t, p, "acme-prod"); ok.Phase != workflows.PhaseSucceeded || ok.Error != "" || outcomeOf(p, "acme-prod") != "succeeded" {
		t.Errorf("acme-prod ended %s with error %q, recorded as %q; want succeeded, no error", ok.Phase, ok.Error, outcomeOf(p, "acme-prod"))
	}
}

// At most Concurrency organizations mutate at once, also when others of
// the wave ended before the gate with nothing to do.
func TestConcurrencyHoldsWhenSomeOrganizationsHaveNothingToDo(t *testing.T) {
	h := newChangeHarness(t)
	enabled := offState()
	enabled.TrustedAccess, enabled.ServiceLinkedRole = true, true
	h.stateOf = map[string]workflows.State{"globex": enabled}
	in := changeInput("globex", "acme-prod", "acme-staging")
	in.Waves, in.Concurrency = nil, 1
	h.approveAt(time.Hour, "alice", "bob")
	p, err := h.run(in)
	if err != nil || p.Phase != workflows.PhaseSucceeded || len(h.enabled) != 2 {
		t.Fatalf("phase %s, err %v, enabled %v", p.Phase, err, h.enabled)
	}
	open := map[string]bool{}
	for _, m := range h.mutations {
		verb, org, _ := strings.Cut(m, " ")
		if verb == "enable" {
			open[org] = true
		} else {
			delete(open, org)
		}
		if len(open) > 1 {
			t.Fatalf("%d organizations mutate at once with a concurrency of 1: %v", len(open), h.mutations)
		}
	}
}

// A rollback that finds trusted access already on changes nothing, and the
// change still shows what depends on trusted access there.
func TestRollbackWithNothingToDoShowsWhatItFound(t *testing.T) {
	h := newHarness(t)
	on := offState()
	on.TrustedAccess, on.ServiceLinkedRole = true, true
	h.env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(on, nil)
	h.env.OnActivity(acts.TakeInventory, mock.Anything, mock.Anything).Return(workflows.Inventory{
		OrganizationTrails: []workflows.TrailState{{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}}}, nil)
	p, err := h.run(one(workflows.ActionRollback))
	if err != nil || p.Phase != workflows.PhaseNoChange {
		t.Fatalf("phase %s, err %v; want nothing to do", p.Phase, err)
	}
	if inv := p.Targets[0].Inventory; inv == nil || len(inv.OrganizationTrails) != 1 || inv.OrganizationTrails[0].ARN != trailARN {
		t.Errorf("the rollback of acme-prod shows inventory %+v; want its organization trail", inv)
	}
}

// While a disable waits for the CloudTrail administrator, the change shows
// what they are asked to clean up.
func TestCleanupGateShowsWhatDependsOnTrustedAccess(t *testing.T) {
	h, _ := disableHarness(t)
	h.at(time.Hour, func() {
		p := h.progress()
		inv := p.Targets[0].Inventory
		if p.Phase != workflows.PhaseAwaitingCleanup || inv == nil || len(inv.OrganizationTrails) != 1 || inv.OrganizationTrails[0].ARN != trailARN {
			t.Errorf("awaiting cleanup (%s), the change shows inventory %+v; want the organization trail", p.Phase, inv)
		}
		h.mustUpdate(workflows.UpdateCancel, workflows.Control{Who: as("dave"), Reason: "seen enough"})
	})
	if p, _ := h.run(one(workflows.ActionDisable)); p.Phase != workflows.PhaseCancelled {
		t.Errorf("phase %s after a cancel at the cleanup gate", p.Phase)
	}
}
