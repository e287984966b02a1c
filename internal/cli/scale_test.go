package cli

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailgate/trailgate/workflows"
)

// manyProgress is a change over n organizations: all succeeded but the
// last three, one at work and two failed.
func manyProgress(n int) workflows.ChangeProgress {
	p := workflows.ChangeProgress{ChangeID: "enable-many", Action: workflows.ActionEnable, Phase: workflows.PhaseApplying, CurrentWave: 1}
	var names []string
	for i := range n {
		t := workflows.TargetSummary{Organization: fmt.Sprintf("org-%04d", i+1), Wave: 1, Phase: workflows.PhaseSucceeded}
		switch i {
		case n - 3:
			t.Phase = workflows.PhaseApplying
		case n - 2, n - 1:
			t.Phase, t.Error = workflows.PhaseFailed, "AccessDenied"
		}
		p.Targets = append(p.Targets, t)
		names = append(names, t.Organization)
	}
	p.Waves = []workflows.WaveProgress{{Number: 1, Organizations: names, Phase: workflows.PhaseApplying}}
	return p
}

func TestStatusSummarisesAChangeOverManyOrganizations(t *testing.T) {
	p := manyProgress(1000)
	var b strings.Builder
	writeStatus(&b, p, changeExecution{}, "", false)
	out := b.String()
	for _, want := range []string{
		"Organizations: 1,000, 997 succeeded, 2 failed, 1 applying",
		"org-0999", "org-1000", "org-0998",
		"… 997 more not shown; trailgate status enable-many --organizations lists every one",
		"org-0001, org-0002, org-0003, org-0004, org-0005, …, org-1000 (1,000 in all)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status of 1,000 organizations lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "org-0001  ") || strings.Count(out, "\n") > 30 {
		t.Errorf("status of 1,000 organizations lists the ones that succeeded:\n%s", out)
	}

	b.Reset()
	writeStatus(&b, p, changeExecution{}, "", true)
	if rows := strings.Count(b.String(), "\n  org-"); rows != 1000 {
		t.Errorf("status --organizations lists %d organizations, want 1000", rows)
	}
	b.Reset()
	writeStatus(&b, manyProgress(statusOrganizations), changeExecution{}, "", false)
	if rows := strings.Count(b.String(), "\n  org-"); rows != statusOrganizations {
		t.Errorf("status of %d organizations lists %d, want every one", statusOrganizations, rows)
	}
}

func TestWatchingManyOrganizationsShowsWhatGoesWrongNotWhatGoesRight(t *testing.T) {
	var b strings.Builder
	v := &progressView{out: &b, errOut: &b, seen: map[string]bool{}}
	at := time.Date(2026, 3, 7, 2, 30, 0, 0, time.UTC)
	entries := []workflows.RecordEntry{
		{At: at, Kind: workflows.RecordWave, Detail: "wave 1 of 1 starts"},
		{At: at, Organization: "org-0001", Kind: workflows.RecordPlan, Detail: "enable trusted access"},
		{At: at, Organization: "org-0001", Kind: workflows.RecordOutcome, Detail: "succeeded"},
		{At: at, Organization: "org-1000", Kind: workflows.RecordOutcome, Detail: "failed: AccessDenied"},
		{At: at, Organization: "org-0999", Kind: recordRetrying, Detail: "EnableAWSServiceAccess: throttled"},
	}
	p := manyProgress(1000)
	for i := 500; i < 997; i++ {
		p.Targets[i].Phase = workflows.PhaseApplying
	}
	v.show(p, entries)
	out := b.String()
	for _, want := range []string{"wave 1 of 1 starts", "failed: AccessDenied", "throttled"} {
		if !strings.Contains(out, want) {
			t.Errorf("watching 1,000 organizations does not show %q:\n%s", want, out)
		}
	}
	for _, routine := range []string{"enable trusted access", "org-0001"} {
		if strings.Contains(out, routine) {
			t.Errorf("watching 1,000 organizations shows the routine %q:\n%s", routine, out)
		}
	}

	// Without a terminal, the status line is printed again only as the
	// change moves by a tenth, not at every organization.
	lines := strings.Count(out, "⋯")
	p.Targets[600].Phase = workflows.PhaseSucceeded
	v.show(p, nil)
	if n := strings.Count(b.String(), "⋯"); n != lines {
		t.Errorf("one more organization done printed another status line:\n%s", b.String())
	}
	for i := 500; i < 700; i++ {
		p.Targets[i].Phase = workflows.PhaseSucceeded
	}
	v.show(p, nil)
	if n := strings.Count(b.String(), "⋯"); n != lines+1 {
		t.Errorf("a fifth more organizations done printed no status line:\n%s", b.String())
	}

	b.Reset()
	few := &progressView{out: &b, errOut: &b, seen: map[string]bool{}}
	few.show(manyProgress(3), entries)
	if !strings.Contains(b.String(), "enable trusted access") {
		t.Errorf("watching three organizations hides their entries:\n%s", b.String())
	}
}

func TestPlanInBatchesShowsEachBatchInOrderAndFewAtOnce(t *testing.T) {
	var names []string
	for i := range 950 {
		names = append(names, fmt.Sprintf("org-%04d", i+1))
	}
	var running, most atomic.Int32
	var shown []string
	err := planInBatches(context.Background(), names, func(_ context.Context, n int, batch []string) (workflows.PlanResult, error) {
		now := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		// Later batches end first: the order shown must not follow them.
		time.Sleep(time.Duration(10-n) * 2 * time.Millisecond)
		var res workflows.PlanResult
		for _, name := range batch {
			res.Targets = append(res.Targets, workflows.TargetPlan{Organization: name})
		}
		return res, nil
	}, func(res workflows.PlanResult) {
		for _, t := range res.Targets {
			shown = append(shown, t.Organization)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(shown, ",") != strings.Join(names, ",") {
		t.Errorf("batches shown out of order or incomplete: %d shown", len(shown))
	}
	if most.Load() > planAtOnce {
		t.Errorf("%d batches planned at once, want at most %d", most.Load(), planAtOnce)
	}

	want := fmt.Errorf("no Temporal")
	err = planInBatches(context.Background(), names, func(context.Context, int, []string) (workflows.PlanResult, error) {
		return workflows.PlanResult{}, want
	}, func(workflows.PlanResult) { t.Error("a failed batch was shown") })
	if err != want {
		t.Errorf("planInBatches returned %v, want the batch's error", err)
	}
}

// A change over thousands of organizations is followed less often: each
// round is work for the worker that runs it.
func TestALargeChangeIsFollowedLessOften(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 999: time.Second, 2000: 2 * time.Second, 10000: 10 * time.Second} {
		if got := pollFor(time.Second, n); got != want {
			t.Errorf("a change of %d organizations is followed every %s; want %s", n, got, want)
		}
	}
}
