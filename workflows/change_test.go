package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

type changeHarness struct {
	*harness
	enabled   []string    // organizations whose trusted access was enabled, in order
	enabledAt []time.Time // and when, in workflow time
	// stateOf is what AWS shows of an organization, when not "off".
	stateOf map[string]workflows.State
	// mutations are the organizations' enables and verifications, in order.
	mu        sync.Mutex
	mutations []string
}

func (h *changeHarness) mutation(what string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mutations = append(h.mutations, what)
}

// newChangeHarness runs changes over organizations whose AWS state is "off";
// enabling fails for the organizations in deny.
func newChangeHarness(t *testing.T, deny ...string) *changeHarness {
	h := &changeHarness{harness: newHarness(t)}
	h.noTrail = true
	h.on(acts.ReadState).Return(func(_ context.Context, in activities.OrgInput) (workflows.State, error) {
		if st, ok := h.stateOf[in.Organization]; ok {
			return st, nil
		}
		return roleOnly(), nil
	})
	h.on(acts.EnableTrustedAccess).Return(func(_ context.Context, in activities.OrgInput) (activities.Mutation, error) {
		for _, d := range deny {
			if in.Organization == d {
				return activities.Mutation{}, temporal.NewNonRetryableApplicationError("enable trusted access in organization "+d+": AccessDeniedException: denied", "AccessDeniedException", nil)
			}
		}
		h.enabled = append(h.enabled, in.Organization)
		h.enabledAt = append(h.enabledAt, h.env.Now())
		h.mutation("enable " + in.Organization)
		return activities.Mutation{}, nil
	})
	h.on(acts.VerifyEnabled).Return(func(_ context.Context, in activities.VerifyInput) (workflows.Evidence, error) {
		h.mutation("verify " + in.Organization)
		return workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 1}, nil
	})
	return h
}

func TestChangeRunsWavesAfterEachWaveIsApproved(t *testing.T) {
	h := newChangeHarness(t)
	var self, stranger, wrongWave, wrongPhase, duplicate error
	h.at(time.Hour, func() {
		p := h.progress()
		if p.Phase != workflows.PhaseAwaitingApproval || p.CurrentWave != 1 || p.Targets[0].Plan == nil || len(h.enabled) != 0 {
			t.Errorf("before approval: phase %s wave %d plan %v enabled %v", p.Phase, p.CurrentWave, p.Targets[0].Plan, h.enabled)
		}
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("dave")}, &self)
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("mallory")}, &stranger)
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("alice"), Wave: 2}, &wrongWave)
		h.update(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("carol")}, &wrongPhase)
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("alice")}, &duplicate)
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	h.at(2*time.Hour, func() {
		p := h.progress()
		if p.CurrentWave != 2 || p.Phase != workflows.PhaseAwaitingApproval || len(h.enabled) != 1 {
			t.Errorf("after wave 1: wave %d phase %s enabled %v", p.CurrentWave, p.Phase, h.enabled)
		}
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	p, err := h.run(changeInput("acme-prod", "acme-staging", "globex"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded || len(h.enabled) != 3 || h.enabled[0] != "acme-prod" {
		t.Fatalf("phase %s enabled %v", p.Phase, h.enabled)
	}
	for _, tg := range p.Targets {
		if tg.Phase != workflows.PhaseSucceeded || tg.Evidence == nil {
			t.Errorf("target %s: %s, evidence %v", tg.Organization, tg.Phase, tg.Evidence)
		}
	}
	wantIn(t, self, "two-person rule")
	wantIn(t, stranger, "not an approver")
	wantIn(t, wrongWave, "not wave 2")
	wantIn(t, wrongPhase, "no organization awaits cleanup")
	wantIn(t, duplicate, "already approved")
}

func TestFailureBudgetHaltsTheChange(t *testing.T) {
	h := newChangeHarness(t, "acme-staging")
	in := changeInput("acme-prod", "acme-staging", "globex")
	in.Waves, in.Concurrency, in.FailureBudget = nil, 1, 0
	h.approveAt(time.Hour, "alice", "bob")
	p, err := h.run(in)
	if errorType(err) != workflows.ErrChangeFailed {
		t.Fatalf("error %v", err)
	}
	if p.Phase != workflows.PhaseHalted || p.Failed != 1 {
		t.Fatalf("phase %s failed %d", p.Phase, p.Failed)
	}
	phases := map[string]workflows.Phase{}
	for _, tg := range p.Targets {
		phases[tg.Organization] = tg.Phase
	}
	if phases["acme-prod"] != workflows.PhaseSucceeded || phases["acme-staging"] != workflows.PhaseFailed || phases["globex"] != workflows.PhaseCancelled {
		t.Errorf("phases %v", phases)
	}
	if len(h.enabled) != 1 {
		t.Errorf("enabled %v after the budget was spent", h.enabled)
	}
}

func TestPausedChangeReleasesNothingUntilResumed(t *testing.T) {
	h := newChangeHarness(t)
	in := changeInput("acme-prod", "globex")
	in.Waves = nil
	var again error
	h.at(time.Hour, func() {
		h.mustUpdate(workflows.UpdatePause, workflows.Control{Who: as("bob"), Reason: "incident in progress"})
		h.update(workflows.UpdatePause, workflows.Control{Who: as("alice")}, &again)
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob")})
	})
	h.at(30*time.Hour, func() {
		if len(h.enabled) != 0 {
			t.Errorf("paused change enabled %v", h.enabled)
		}
		h.mustUpdate(workflows.UpdateResume, workflows.Control{Who: as("bob"), Reason: "incident over"})
	})
	p, err := h.run(in)
	if err != nil || p.Phase != workflows.PhaseSucceeded || len(h.enabled) != 2 {
		t.Fatalf("phase %s err %v enabled %v", p.Phase, err, h.enabled)
	}
	wantIn(t, again, "already paused")
	if kinds := recordKinds(p.Record); !containsAll(kinds, "paused", "resumed") {
		t.Errorf("record %s", kinds)
	}
}

func TestCancelledChangeChangesNothing(t *testing.T) {
	h := newChangeHarness(t)
	var stranger error
	h.at(time.Hour, func() {
		h.update(workflows.UpdateCancel, workflows.Control{Who: as("mallory")}, &stranger)
		h.mustUpdate(workflows.UpdateCancel, workflows.Control{Who: as("dave"), Reason: "wrong organizations"})
	})
	p, err := h.run(changeInput("acme-prod", "globex"))
	if err != nil || p.Phase != workflows.PhaseCancelled || len(h.enabled) != 0 {
		t.Fatalf("phase %s err %v enabled %v", p.Phase, err, h.enabled)
	}
	wantIn(t, stranger, "may not steer")
	if p.Waves[1].Phase != workflows.PhasePending {
		t.Errorf("wave 2 ran after a cancel: %s", p.Waves[1].Phase)
	}
}

func TestMutationsWaitForTheMaintenanceWindow(t *testing.T) {
	h := newChangeHarness(t)
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	h.env.SetStartTime(start)
	in := changeInput("acme-prod")
	w, err := workflows.ParseWindow("02:00+2h")
	if err != nil {
		t.Fatal(err)
	}
	in.Windows = []workflows.MaintenanceWindow{w}
	h.approveAt(time.Hour, "alice", "bob")
	h.at(3*time.Hour, func() {
		if p := h.progress(); p.Phase != workflows.PhaseAwaitingWindow {
			t.Errorf("phase %s outside the window", p.Phase)
		}
	})
	h.runTo(in, workflows.PhaseSucceeded)
	opens := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	if len(h.enabledAt) != 1 {
		t.Fatalf("enabled %d times", len(h.enabledAt))
	}
	if enabledAt := h.enabledAt[0]; enabledAt.Before(opens) || enabledAt.After(opens.Add(2*time.Hour)) {
		t.Errorf("enabled at %s, outside the window opening %s", enabledAt, opens)
	}
}

func TestDisableChangeForwardsCleanupConfirmations(t *testing.T) {
	h, _ := disableHarness(t)
	h.on(acts.DisableTrustedAccess).Return(activities.Mutation{}, nil)
	h.on(acts.VerifyDisabled).Return(workflows.Evidence{Checks: 1}, nil)
	in := changeInput("acme-prod", "globex")
	in.Action, in.Waves = workflows.ActionDisable, nil
	var early, unknownOrg error
	h.at(time.Hour, func() {
		p := h.progress()
		if p.Phase != workflows.PhaseAwaitingCleanup || p.Awaiting == nil {
			t.Errorf("phase %s awaiting %v", p.Phase, p.Awaiting)
		}
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("alice")}, &early)
		h.update(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("carol"), Organization: "initech"}, &unknownOrg)
		h.mustUpdate(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("carol"), Organization: "acme-prod", AcknowledgeMemberLoggingStops: true})
		h.mustUpdate(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("carol"), Organization: "globex"})
	})
	h.at(90*time.Minute, func() {
		p := h.progress()
		if p.Awaiting == nil || !strings.Contains(p.Awaiting.What, "acknowledge-member-logging-stops") || !strings.Contains(p.Awaiting.What, "for globex") {
			t.Errorf("after globex's confirmation without acknowledgement the change awaits %+v", p.Awaiting)
		}
	})
	h.at(2*time.Hour, func() {
		h.mustUpdate(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("carol"), AcknowledgeMemberLoggingStops: true})
	})
	h.approveAt(3*time.Hour, "alice", "bob")
	h.runTo(in, workflows.PhaseSucceeded)
	wantIn(t, early, "not awaiting approval")
	wantIn(t, unknownOrg, "not part of change")
}

func TestPlanWavesSlicesOrganizations(t *testing.T) {
	for _, tc := range []struct {
		specs []string
		n     int
		want  []int
	}{
		{[]string{"1", "25%", "rest"}, 9, []int{1, 2, 6}},
		{nil, 3, []int{3}},
		{[]string{"1"}, 3, []int{1, 2}},
		{[]string{"5", "rest"}, 2, []int{2}},
	} {
		got, err := workflows.PlanWaves(tc.specs, tc.n)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("PlanWaves(%v, %d) = %v, %v; want %v", tc.specs, tc.n, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("PlanWaves(%v, %d) = %v; want %v", tc.specs, tc.n, got, tc.want)
			}
		}
	}
	for _, bad := range [][]string{{"rest", "1"}, {"0"}, {"150%"}, {"x"}} {
		if _, err := workflows.PlanWaves(bad, 3); err == nil {
			t.Errorf("PlanWaves(%v) accepted", bad)
		}
	}
}

func TestChangeRemindsApproversOnceForTheWholeWave(t *testing.T) {
	h := newChangeHarness(t)
	in := changeInput("acme-prod", "acme-staging", "globex")
	in.Waves = nil
	p, err := h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseExpired {
		t.Fatalf("phase %s after a week without approvals", p.Phase)
	}
	if len(h.reminders) != 6 {
		t.Fatalf("%d reminders in a week for one waiting wave, want 6 (one a day, from the change only)", len(h.reminders))
	}
	for _, r := range h.reminders {
		if r.Organization != "" || r.ChangeID != "chg-1" || len(r.Who) != 3 {
			t.Errorf("reminder %+v is not the change's", r)
		}
	}
	if len(h.enabled) != 0 {
		t.Errorf("an expired change enabled %v", h.enabled)
	}
}

// An approved wave that waits for its maintenance window longer than
// approvals.timeout does not expire: only the approval gate has a deadline.
func TestApprovedWaveWaitsForItsWindowPastTheGateTimeout(t *testing.T) {
	h := newChangeHarness(t)
	h.env.SetStartTime(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	in := changeInput("acme-prod", "globex")
	in.Waves = nil
	h.policy.Timeout, h.policy.ReminderEvery = 2*time.Hour, time.Hour
	w, _ := workflows.ParseWindow("02:00+2h")
	in.Windows = []workflows.MaintenanceWindow{w}
	h.approveAt(30*time.Minute, "alice", "bob")
	p, err := h.run(in)
	if err != nil || p.Phase != workflows.PhaseSucceeded || len(h.enabled) != 2 {
		t.Fatalf("phase %s, err %v, enabled %v", p.Phase, err, h.enabled)
	}
}

// A wave nobody approves expires at the change's deadline, and so does
// every organization of it, with nothing changed and no later wave started.
func TestUnapprovedWaveExpiresTheChange(t *testing.T) {
	h := newChangeHarness(t)
	in := changeInput("acme-prod", "globex")
	h.policy.Timeout = 3 * time.Hour
	p := h.runTo(in, workflows.PhaseExpired)
	if p.Targets[0].Phase != workflows.PhaseExpired || p.Waves[1].Phase != workflows.PhasePending || len(h.enabled) != 0 {
		t.Errorf("targets %+v, wave 2 %s, enabled %v", p.Targets, p.Waves[1].Phase, h.enabled)
	}
}

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
	if errorType(err) != workflows.ErrChangeFailed || p.Phase != workflows.PhaseFailed {
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
	h.on(acts.ReadState).Return(on, nil)
	h.on(acts.TakeInventory).Return(workflows.Inventory{
		OrganizationTrails: []workflows.TrailState{{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}}}, nil)
	p := h.runTo(one(workflows.ActionRollback), workflows.PhaseNoChange)
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

// Beyond DetailedTargets organizations, a change's answers give the
// details of at most DetailedTargets organizations, those that failed
// first, then those at work or waiting, and leave out the record entries
// that every organization makes when all goes well; what was told is left
// out at any size; the progress itself is not changed.
func TestBoundedProgressKeepsWhatPeopleNeed(t *testing.T) {
	detailed := func(org string, phase workflows.Phase) workflows.TargetSummary {
		return workflows.TargetSummary{Organization: org, Phase: phase, Message: "approval of wave 1", Plan: &workflows.Plan{}, Evidence: &workflows.Evidence{}, Told: []workflows.ParentDecision{{}}}
	}
	routine := workflows.RecordEntry{Organization: "org-1", Kind: workflows.RecordOutcome, Detail: string(workflows.PhaseSucceeded)}
	failure := workflows.RecordEntry{Organization: "org-2", Kind: workflows.RecordOutcome, Detail: "failed: AccessDenied"}
	wave := workflows.RecordEntry{Kind: workflows.RecordWave, Detail: "wave 1 of 1 starts"}
	record := []workflows.RecordEntry{wave, routine, failure}

	few := workflows.ChangeProgress{Targets: []workflows.TargetSummary{detailed("org-1", workflows.PhaseSucceeded)}, Record: record}
	b := few.Bounded()
	if tg := b.Targets[0]; tg.Plan == nil || tg.Evidence == nil || tg.Told != nil || tg.Message == "" {
		t.Errorf("a change of one: %+v; want its plan, evidence and message, and nothing told", tg)
	}
	if len(b.Record) != len(record) {
		t.Errorf("a change of one has %d record entries; want all %d", len(b.Record), len(record))
	}

	var many workflows.ChangeProgress
	for i := range workflows.DetailedTargets {
		many.Targets = append(many.Targets, detailed(fmt.Sprintf("done-%d", i), workflows.PhaseSucceeded))
	}
	for i := range workflows.DetailedTargets {
		many.Targets = append(many.Targets, detailed(fmt.Sprintf("waits-%d", i), workflows.PhaseAwaitingApproval))
	}
	many.Targets = append(many.Targets, detailed("failed", workflows.PhaseFailed))
	many.Targets[len(many.Targets)-1].Error = strings.Repeat("e", 5000)
	many.Record = record
	b = many.Bounded()
	for _, tg := range b.Targets {
		has := tg.Plan != nil && tg.Evidence != nil
		switch {
		case tg.Told != nil:
			t.Errorf("%s: what it was told is given", tg.Organization)
		case strings.HasPrefix(tg.Organization, "done-") && (has || tg.Message != ""):
			t.Errorf("%s ended well: %+v; want no details and no stale message", tg.Organization, tg)
		case tg.Organization == "failed" && (!has || len(tg.Error) != 5000):
			t.Errorf("the failed organization: details %v, error of %d bytes; want its details and its error", has, len(tg.Error))
		case tg.Organization == "waits-24" && (has || tg.Message != ""):
			t.Errorf("%s: details of %d organizations given; want at most %d", tg.Organization, workflows.DetailedTargets+1, workflows.DetailedTargets)
		case tg.Organization == "waits-0" && (!has || tg.Message == ""):
			t.Errorf("%s, waiting: %+v; want its details and what it waits for", tg.Organization, tg)
		}
	}
	if got := b.Record; len(got) != 2 || got[0].Detail != wave.Detail || got[1].Detail != failure.Detail {
		t.Errorf("record of a change of %d: %+v; want the wave and the failure, not the routine outcome", len(many.Targets), got)
	}
	for i := range workflows.DetailedTargets {
		many.Targets = append(many.Targets, detailed(fmt.Sprintf("failed-%d", i), workflows.PhaseFailed))
		many.Targets[len(many.Targets)-1].Error = strings.Repeat("e", 5000)
	}
	if tg := many.Bounded().Targets[len(many.Targets)-1]; tg.Plan != nil || len(tg.Error) > 1000 {
		t.Errorf("a failure beyond the first %d: details %v, error of %d bytes; want no details, and the start of its error", workflows.DetailedTargets, tg.Plan != nil, len(tg.Error))
	}
	if many.Targets[0].Plan == nil || many.Targets[0].Told == nil || len(many.Record) != 3 || many.Record[1].Detail != routine.Detail {
		t.Error("Bounded changed the progress it was given")
	}
}

// A change over 10,000 organizations, every one waiting at its gate with
// the plan and inventory of an enable with the managed trail, answers
// within Temporal's 2 MB payload limit, with room to spare.
func TestTheAnswersOfAChangeOf10000FitTemporalsLimit(t *testing.T) {
	const n = 10000
	p := workflows.ChangeProgress{ChangeID: "rollout-2026-11", Action: workflows.ActionEnable, Phase: workflows.PhaseAwaitingApproval, CurrentWave: 1}
	for w := range n / workflows.MaxWaveOrganizations {
		wave := workflows.WaveProgress{Number: w + 1, NeedsApproval: w == 0, Phase: workflows.PhasePending}
		for i := range workflows.MaxWaveOrganizations {
			org := fmt.Sprintf("org-%05d", w*workflows.MaxWaveOrganizations+i)
			wave.Organizations = append(wave.Organizations, org)
			plan := workflows.PlanEnable(workflows.State{}, "trailgate-org-trail", "trailgate-org-trail-logs")
			p.Targets = append(p.Targets, workflows.TargetSummary{
				Organization: org, WorkflowID: workflows.TargetWorkflowID(p.ChangeID, org), Wave: w + 1,
				Phase: workflows.PhaseAwaitingApproval, Message: "approval of wave 1's plan",
				Plan: &plan, Inventory: &workflows.Inventory{OrganizationTrails: []activities.TrailState{{Name: "audit", ARN: "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit"}}},
			})
			p.Record = append(p.Record, workflows.RecordEntry{Organization: org, Kind: workflows.RecordOutcome, Detail: string(workflows.PhaseSucceeded)})
		}
		p.Waves = append(p.Waves, wave)
	}
	full, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	bounded, err := json.Marshal(p.Bounded())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d organizations: the whole progress takes %d bytes, the answer %d", n, len(full), len(bounded))
	if len(bounded) > 1536*1024 {
		t.Errorf("the answer for %d organizations takes %d bytes; Temporal refuses more than 2 MB", n, len(bounded))
	}
}

// A change checks at its start that the worker knows every organization,
// and resolves each wave's organizations when the wave starts: the
// organizations of a change of 10,000 did not fit one answer.
func TestEachWaveIsResolvedWhenItStarts(t *testing.T) {
	h := newChangeHarness(t)
	h.approveAt(time.Hour, "alice", "bob")
	h.approveAt(2*time.Hour, "alice", "bob")
	p := h.runTo(changeInput("acme-prod", "acme-staging", "globex"), workflows.PhaseSucceeded)
	want := []string{"policy only: acme-prod,acme-staging,globex", "acme-prod", "acme-staging,globex"}
	if !slices.Equal(h.resolved, want) {
		t.Errorf("resolved %q; want %q", h.resolved, want)
	}
	if p.Done() != 3 || p.Policy == nil || p.Policy.RequiredApprovals != 2 {
		t.Errorf("the change ended with %d done and policy %+v", p.Done(), p.Policy)
	}
}

// A wave the worker's configuration no longer resolves starts none of its
// organizations: each fails with the reason, and the failure budget halts
// the change.
func TestAWaveTheWorkerNoLongerResolvesStartsNothing(t *testing.T) {
	h := newChangeHarness(t)
	h.resolve = func(in activities.ResolveInput) error {
		if !in.PolicyOnly && slices.Contains(in.Organizations, "globex") {
			return temporal.NewNonRetryableApplicationError("the worker's configuration has no organization globex", activities.ErrUnknownOrganization, nil)
		}
		return nil
	}
	h.approveAt(time.Hour, "alice", "bob")
	p, err := h.run(changeInput("acme-prod", "acme-staging", "globex"))
	if err == nil || p.Phase != workflows.PhaseHalted {
		t.Fatalf("the change ended %s, err %v; want halted", p.Phase, err)
	}
	for _, org := range []string{"acme-staging", "globex"} {
		tg := targetOf(t, p, org)
		if tg.Phase != workflows.PhaseFailed || !strings.Contains(tg.Error, "did not resolve wave 2: the worker's configuration has no organization globex") {
			t.Errorf("%s: %s, %q; want failed with the reason", org, tg.Phase, tg.Error)
		}
	}
	if h.calls["preflight"] != 1 || !slices.Equal(h.enabled, []string{"acme-prod"}) {
		t.Errorf("%d preflights, enabled %v; want wave 1 alone", h.calls["preflight"], h.enabled)
	}
}

// A target that cannot be asked where it stands, as when a busy Temporal
// times a query out, is asked again: the change still sees it at its
// gate, and the change goes on.
func TestATargetThatCouldNotBeAskedIsAskedAgain(t *testing.T) {
	h := newChangeHarness(t)
	asked := 0
	h.unanswered = func(q activities.QueryInput) bool {
		if q.WorkflowID != workflows.TargetWorkflowID("chg-1", "acme-staging") || q.Query != workflows.QueryProgress {
			return false
		}
		asked++
		return asked <= 3
	}
	h.approveAt(time.Hour, "alice", "bob")
	h.approveAt(2*time.Hour, "alice", "bob")
	p := h.runTo(changeInput("acme-prod", "acme-staging", "globex"), workflows.PhaseSucceeded)
	if p.Done() != 3 || asked < 4 {
		t.Errorf("%d done, acme-staging asked %d times; want all 3 done, asked until it answered", p.Done(), asked)
	}
}

// The record of a wave of more than DetailedTargets organizations says how
// many ended in each phase, and names a few of those that did not end
// well, not every organization.
func TestTheEndOfALargeWaveIsCountedNotListed(t *testing.T) {
	h := newHarness(t)
	on := offState()
	on.TrustedAccess, on.ServiceLinkedRole, on.BucketPolicyReady = true, true, true
	on.Trail = &workflows.TrailState{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}
	h.on(acts.ReadState).Return(func(_ context.Context, in activities.OrgInput) (workflows.State, error) {
		if in.Organization == "org-03" || in.Organization == "org-07" {
			return workflows.State{}, temporal.NewNonRetryableApplicationError("denied", "AccessDeniedException", nil)
		}
		return on, nil
	})
	var orgs []string
	for i := 1; i <= workflows.DetailedTargets+5; i++ {
		orgs = append(orgs, fmt.Sprintf("org-%02d", i))
	}
	in := changeInput(orgs...)
	in.Waves, in.FailureBudget = nil, 2
	p, _ := h.run(in)
	var ends []string
	for _, e := range p.Record {
		if e.Kind == workflows.RecordWave && strings.HasPrefix(e.Detail, "wave 1 ends") {
			ends = append(ends, e.Detail)
		}
	}
	if want := "wave 1 ends: 28 nothing-to-do, 2 failed (org-03, org-07)"; len(ends) != 1 || ends[0] != want {
		t.Errorf("the end of the wave is recorded as %q; want %q", ends, want)
	}
}
