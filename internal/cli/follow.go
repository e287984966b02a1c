package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/trailgate/trailgate/workflows"
)

// followUntil says when following a change stops.
type followUntil int

const (
	// followToEnd follows a change until it ends.
	followToEnd followUntil = iota
	// followToGate stops also when the change waits for people at a gate
	// other than the one it waited at when following began.
	followToGate
)

// followOptions says what following a change shows and when it stops.
type followOptions struct {
	until followUntil
	// from is where the change stood when following began: its record
	// entries are not shown again and its gate does not stop following.
	from *workflows.ChangeProgress
	// unanswered is the error of a first look that the worker did not
	// answer in time: following says so, then goes on asking.
	unanswered error
}

// follow shows a change's progress as it happens (a progress bar on a
// terminal, plain lines otherwise) until it ends or, with followToGate,
// waits for people. It returns where the change stands then.
func (s *session) follow(ctx context.Context, changeID string, opts followOptions) (workflows.ChangeProgress, error) {
	ended := make(chan endedChange, 1)
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	go func() {
		p, err := s.changes.awaitEnd(waitCtx, changeID)
		ended <- endedChange{p, err}
	}()

	v := newProgressView(s.out)
	defer v.close()
	if opts.unanswered != nil {
		v.warn(opts.unanswered)
	}
	live := liveTargets{done: map[string]bool{}}
	startGate := ""
	if opts.from != nil {
		startGate = gateKey(*opts.from)
		v.markSeen(entriesUntil(s.liveEntries(ctx, *opts.from, &live), lastEntryAt(opts.from.Record)))
	}
	newGate := false
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return workflows.ChangeProgress{}, stoppedFollowing(changeID, ctx.Err())
		case e := <-ended:
			p, err := s.endedProgress(ctx, changeID, e)
			if err != nil {
				return p, err
			}
			v.show(p, s.liveEntries(ctx, p, &live))
			v.final(p)
			return p, nil
		case <-tick.C:
			p, err := s.changes.query(ctx, changeID)
			if err != nil {
				// The change may have just ended; the next round says.
				v.warn(err)
				continue
			}
			tick.Reset(pollFor(s.poll, len(p.Targets)))
			for _, e := range v.show(p, s.liveEntries(ctx, p, &live)) {
				// Only the change's own gates wait for people; an
				// organization's gate waits for the change, which may not
				// have caught up with it yet.
				newGate = newGate || (e.Kind == workflows.RecordGate && e.Organization == "")
			}
			// A gate other than the one following began at, or the same gate
			// asking again (a confirmation that was not enough).
			if opts.until == followToGate && waitsForPeople(p) && (gateKey(p) != startGate || newGate) {
				v.gate(p)
				return p, nil
			}
		}
	}
}

// pollFor is how often a change of n organizations is followed: a second
// more for each thousand. Each round asks the change and some of its
// organizations where they stand, work for the worker that runs them; a
// change of 10,000 asked every second spent its workflow tasks answering,
// and they timed out.
func pollFor(poll time.Duration, n int) time.Duration {
	return max(poll, time.Duration(n/1000)*time.Second)
}

// stoppedFollowing says that following ended, not the change.
func stoppedFollowing(changeID string, err error) error {
	return fmt.Errorf("stopped following change %s (%w); the change goes on in the worker, and `trailgate status %s --watch` follows it again", changeID, err, changeID)
}

type endedChange struct {
	progress workflows.ChangeProgress
	err      error
}

// endedProgress is the final progress of a change whose workflow closed.
func (s *session) endedProgress(ctx context.Context, changeID string, e endedChange) (workflows.ChangeProgress, error) {
	if e.err == nil {
		return e.progress, nil
	}
	if p, ok := failedProgress(e.err); ok {
		return p, nil
	}
	if ctx.Err() != nil {
		return workflows.ChangeProgress{}, stoppedFollowing(changeID, ctx.Err())
	}
	// Cancelled or terminated from outside trailgate: ask what is known.
	p, _, err := s.changes.progress(ctx, changeID)
	if err != nil {
		return p, fmt.Errorf("change %s ended: %w", changeID, e.err)
	}
	if !p.Phase.Final() {
		p.Phase = workflows.PhaseFailed
	}
	return p, nil
}

// waitsForPeople reports whether a change waits at a gate for someone.
func waitsForPeople(p workflows.ChangeProgress) bool {
	if p.Awaiting == nil || len(p.Awaiting.Who) == 0 || p.Phase.Final() {
		return false
	}
	return p.Phase == workflows.PhaseAwaitingApproval || p.Phase == workflows.PhaseAwaitingCleanup
}

// gateKey names the gate a change waits at; empty when it waits at none.
func gateKey(p workflows.ChangeProgress) string {
	if !waitsForPeople(p) {
		return ""
	}
	return fmt.Sprintf("%s/%d/%s", p.Phase, p.CurrentWave, exact(p.Awaiting.Since))
}

// lastEntryAt is when the last of the entries was recorded.
func lastEntryAt(entries []workflows.RecordEntry) time.Time {
	var last time.Time
	for _, e := range entries {
		if e.At.After(last) {
			last = e.At
		}
	}
	return last
}

// entriesUntil keeps the entries recorded at or before t.
func entriesUntil(entries []workflows.RecordEntry, t time.Time) []workflows.RecordEntry {
	return slices.DeleteFunc(entries, func(e workflows.RecordEntry) bool { return e.At.After(t) })
}

// liveTargets remembers which organizations' workflows have said their
// last word.
type liveTargets struct {
	done map[string]bool
}

// liveEntries are the change's record entries and those of the
// organizations' workflows that are under way, by time.
func (s *session) liveEntries(ctx context.Context, p workflows.ChangeProgress, live *liveTargets) []workflows.RecordEntry {
	var targets []workflows.TargetProgress
	asked := 0
	for _, t := range p.Targets {
		if t.Phase == workflows.PhasePending || live.done[t.Organization] || asked == maxLiveTargets {
			continue
		}
		asked++
		tp, ok, err := s.changes.targetProgress(ctx, t.WorkflowID)
		if err != nil || !ok {
			continue
		}
		// The change records the organization's outcome itself, with its
		// error; shown live, the organization's own would come first and
		// the change's after it.
		tp.Record = slices.DeleteFunc(slices.Clone(tp.Record), func(e workflows.RecordEntry) bool { return e.Kind == workflows.RecordOutcome })
		if working(tp.Phase) {
			for _, r := range s.changes.retriesOf(ctx, t) {
				tp.Record = append(tp.Record, r.entry())
			}
		}
		targets = append(targets, tp)
		if t.Phase.Final() && tp.Phase.Final() {
			live.done[t.Organization] = true
		}
	}
	return mergeEntries(p.Record, targets)
}

// entry is a retry as a line of the followed record.
func (r Retry) entry() workflows.RecordEntry {
	at := r.Since
	if at.IsZero() {
		at = time.Now().UTC()
	}
	return workflows.RecordEntry{At: at, Organization: r.Organization, Kind: recordRetrying, Detail: r.describe()}
}
