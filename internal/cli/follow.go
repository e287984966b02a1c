package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
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
}

// follow shows a change's progress as it happens (a progress bar on a
// terminal, plain lines otherwise) until it ends or, with followToGate,
// waits for people. It returns where the change stands then.
func (s *session) follow(ctx context.Context, changeID string, opts followOptions) (workflows.ChangeProgress, error) {
	ended := make(chan endedChange, 1)
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	go func() {
		var p workflows.ChangeProgress
		err := s.client.GetWorkflow(waitCtx, changeID, "").Get(waitCtx, &p)
		ended <- endedChange{p, err}
	}()

	v := newProgressView(s)
	defer v.close()
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
			p, err := s.query(ctx, changeID)
			if err != nil {
				// The change may have just ended; the next round says.
				v.warn(err)
				continue
			}
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
	p, _, err := s.progress(ctx, changeID)
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

// progressView draws a followed change: new record entries as lines, and a
// status line (redrawn in place on a terminal).
type progressView struct {
	out    io.Writer
	errOut io.Writer
	tty    bool
	width  int
	quiet  bool
	seen   map[string]bool
	status string
	drawn  bool
	warned bool
}

func newProgressView(s *session) *progressView {
	return &progressView{out: s.stdout, errOut: s.stderr, tty: s.tty, width: s.width, quiet: s.json, seen: map[string]bool{}}
}

// markSeen keeps entries from being shown.
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

func (v *progressView) markSeen(entries []workflows.RecordEntry) {
	for _, e := range entries {
		v.seen[entryKey(e)] = true
	}
}

// liveTargets remembers which organizations' workflows have said their
// last word.
type liveTargets struct {
	done map[string]bool
}

// maxLiveTargets bounds how many organizations' workflows are asked per
// round, so that following a large change stays light.
const maxLiveTargets = 20

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
		tp, ok, err := s.targetProgress(ctx, t.WorkflowID)
		if err != nil || !ok {
			continue
		}
		// The change records the organization's outcome itself, with its
		// error; shown live, the organization's own would come first and
		// the change's after it.
		tp.Record = slices.DeleteFunc(slices.Clone(tp.Record), func(e workflows.RecordEntry) bool { return e.Kind == workflows.RecordOutcome })
		if working(tp.Phase) {
			for _, r := range s.retriesOf(ctx, t) {
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

func entryKey(e workflows.RecordEntry) string {
	return exact(e.At) + "|" + e.Organization + "|" + string(e.Kind) + "|" + e.Detail
}

// show prints the record entries not shown yet and the status line, and
// returns those entries.
func (v *progressView) show(p workflows.ChangeProgress, entries []workflows.RecordEntry) []workflows.RecordEntry {
	var fresh []workflows.RecordEntry
	for _, e := range entries {
		k := entryKey(e)
		if v.seen[k] {
			continue
		}
		v.seen[k] = true
		fresh = append(fresh, e)
	}
	if v.quiet {
		return fresh
	}
	for _, e := range fresh {
		v.clearBar()
		fmt.Fprintln(v.out, entryLine(e))
	}
	status := statusLine(p)
	if v.tty {
		v.clearBar()
		// A line wider than the terminal wraps, and only its last row would
		// be redrawn.
		fmt.Fprint(v.out, fit(bar(p)+" "+status, v.width))
		v.drawn = true
	} else if status != v.status {
		fmt.Fprintln(v.out, "  ⋯ "+status)
	}
	v.status = status
	return fresh
}

func (v *progressView) clearBar() {
	if v.tty && v.drawn {
		fmt.Fprint(v.out, "\r\033[K")
		v.drawn = false
	}
}

func (v *progressView) warn(err error) {
	if v.quiet || v.warned {
		return
	}
	v.warned = true
	v.clearBar()
	fmt.Fprintf(v.errOut, "trailgate: %v (still following)\n", err)
}

// gate says whom the change waits for, once following stops at a gate.
func (v *progressView) gate(p workflows.ChangeProgress) {
	if v.quiet {
		return
	}
	v.clearBar()
	fmt.Fprintln(v.out, awaitingLine(p))
}

// final says how the change ended when it ended well; otherwise the
// command's error says it.
func (v *progressView) final(p workflows.ChangeProgress) {
	if v.quiet {
		return
	}
	v.clearBar()
	if p.Phase.Successful() {
		fmt.Fprintln(v.out, outcomeLine(p))
	}
}

func (v *progressView) close() { v.clearBar() }

// entryLine is one record entry as a line: time, organization, kind, detail
// and people.
func entryLine(e workflows.RecordEntry) string {
	org := e.Organization
	if org == "" {
		org = "change"
	}
	line := fmt.Sprintf("  %s  %-14s %-18s %s", clock(e.At), org, e.Kind, shortError(e.Detail))
	if people := entryPeople(e, personName); len(people) > 0 {
		line += " (" + strings.Join(people, ", ") + ")"
	}
	return line
}

// awaitingLine says what a change waits for, from whom and since when.
func awaitingLine(p workflows.ChangeProgress) string {
	a := p.Awaiting
	if a == nil {
		return fmt.Sprintf("Change %s is %s.", p.ChangeID, p.Phase)
	}
	if p.Phase == workflows.PhaseAwaitingWindow {
		return fmt.Sprintf("Change %s waits for the next maintenance window, which opens at %s.", p.ChangeID, minute(a.Expires))
	}
	line := fmt.Sprintf("Change %s awaits %s%s since %s", p.ChangeID, a.What, whoSuffix(a.Who), stamp(a.Since))
	if !a.Expires.IsZero() {
		line += fmt.Sprintf("; it expires at %s", minute(a.Expires))
	}
	return line + "."
}

// outcomeLine says how a change ended.
func outcomeLine(p workflows.ChangeProgress) string {
	if p.Phase.Successful() {
		return fmt.Sprintf("Change %s %s: %d organization(s) verified.", p.ChangeID, p.Phase, p.Done()-p.Failed)
	}
	if p.Failed > 0 {
		return fmt.Sprintf("Change %s ended %s: %d of %d organization(s) failed.", p.ChangeID, p.Phase, p.Failed, len(p.Targets))
	}
	return fmt.Sprintf("Change %s ended %s.", p.ChangeID, p.Phase)
}

// bar is a progress bar of the organizations done.
func bar(p workflows.ChangeProgress) string {
	const width = 20
	total := max(len(p.Targets), 1)
	filled := p.Done() * width / total
	return "[" + strings.Repeat("█", filled) + strings.Repeat("░", width-filled) + "]"
}

var temporalErrorPrefix = regexp.MustCompile(`((activity|child workflow execution) error \([^)]*\): )+`)

// shortError keeps, of an error that crossed Temporal, what a person acts
// on: the message, without the activity's IDs and the wrapped SDK chain.
// Change records keep the whole text.
func shortError(s string) string {
	s = temporalErrorPrefix.ReplaceAllString(strings.TrimSpace(s), "")
	if i := strings.Index(s, " (type: "); i > 0 {
		s = s[:i]
	}
	return s
}

// fit cuts a line to width columns (runes), marking the cut; width 0 means
// no limit.
func fit(line string, width int) string {
	r := []rune(line)
	if width <= 1 || len(r) < width {
		return line
	}
	return string(r[:width-2]) + "…"
}
