package cli

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trailgate/trailgate/internal/brief"
	"github.com/trailgate/trailgate/workflows"
)

// Text for people: what each command prints without --json.

// What a command says it did.

// writeStarted says what change started, on what and for whom.
func writeStarted(w io.Writer, st startedJSON) {
	fmt.Fprintf(w, "Change %s started: %s on %s, requested by %s.\n", st.ChangeID, actionPhrase(st.Action), brief.List(st.organizations, 10), st.RequestedBy)
}

// writeDecided says who decided what on a change, as the worker proved
// them; sent is who the decision was sent as.
func writeDecided(w io.Writer, p workflows.ChangeProgress, sent workflows.Who, past, change string) {
	fmt.Fprintf(w, "%s %s change %s.\n", provenAs(p, sent), past, change)
}

// provenAs names the person behind the decision a change just took, as the
// worker proved them: "alice (arn:…)", or "alice (claimed, not verified)".
func provenAs(p workflows.ChangeProgress, sent workflows.Who) string {
	if who, ok := lastDecider(p); ok {
		return who.String()
	}
	return sent.By
}

func waveSuffix(wave int, p workflows.ChangeProgress) string {
	if wave == 0 || len(p.Waves) < 2 {
		return ""
	}
	return fmt.Sprintf(" (wave %d of %d)", wave, len(p.Waves))
}

// writeCleanupConfirmed says who confirmed cleanup for what, acknowledging
// which impacts, and notes what the last inventories found that the
// confirmation leaves unacknowledged.
func writeCleanupConfirmed(w io.Writer, p workflows.ChangeProgress, changeID string, c workflows.CleanupConfirmation) {
	scope := "every organization awaiting it"
	if c.Organization != "" {
		scope = c.Organization
	}
	ack := ""
	if kinds := c.Acknowledged(); len(kinds) > 0 {
		names := make([]string, 0, len(kinds))
		for _, k := range kinds {
			names = append(names, string(k))
		}
		ack = ", acknowledging what stops: " + strings.Join(names, ", ")
	}
	fmt.Fprintf(w, "%s confirmed cleanup for change %s on %s%s.\n", provenAs(p, c.Who), changeID, scope, ack)
	if missing := unacknowledged(p, c.Organization, c.Acknowledged()); len(missing) > 0 {
		fmt.Fprintf(w, "Note: the last inventory found %s. If they still remain, the change keeps waiting for a confirmation with %s.\n",
			strings.Join(missing, "; "), strings.Join(ackFlags(p, c.Organization), " "))
	}
}

// Plans, changes and their status.

// writePlanHeader and writePlanTargets print a plan for people,
// organization by organization, as its batches end.
func writePlanHeader(w io.Writer, a workflows.Action) {
	fmt.Fprintf(w, "Plan: %s (read-only; nothing was changed)\n", actionPhrase(a))
}

func writePlanTargets(w io.Writer, targets []workflows.TargetPlan) {
	for _, t := range targets {
		fmt.Fprintf(w, "\n%s\n", t.Organization)
		if t.Error != "" {
			fmt.Fprintf(w, "  cannot plan: %s\n", shortError(t.Error))
			continue
		}
		if t.Plan != nil {
			fmt.Fprintf(w, "  now: %s\n", workflows.DescribeState(t.Plan.Current, workflows.AsIs))
			if t.Plan.Empty() {
				fmt.Fprintln(w, "  plan: nothing to do")
			}
			for i, st := range t.Plan.Steps {
				fmt.Fprintf(w, "  %d. %s\n", i+1, st.Description)
			}
		}
		if inv := t.Inventory; inv != nil {
			if inv.Empty() {
				fmt.Fprintf(w, "  impact: %s\n", workflows.NothingDepends)
			}
			for _, impact := range workflows.DescribeImpacts(*inv, workflows.AsIs) {
				fmt.Fprintf(w, "  impact: %s\n", impact)
			}
		}
	}
}

// writeStatus prints a change for people: what, who, where it stands, its
// waves and organizations, and what it waits for.
func writeStatus(w io.Writer, p workflows.ChangeProgress, e changeExecution, link string, every bool) {
	fmt.Fprintf(w, "Change %s: %s, requested by %s\n", p.ChangeID, actionPhrase(p.Action), requestedBy(p))
	if p.Reason != "" {
		fmt.Fprintf(w, "  Reason:   %s\n", p.Reason)
	}
	if p.Policy != nil {
		fmt.Fprintf(w, "  Policy:   %s\n", policyText(*p.Policy))
	}
	if !e.Started.IsZero() {
		fmt.Fprintf(w, "  Started:  %s\n", stamp(e.Started))
	}
	if !e.Closed.IsZero() {
		fmt.Fprintf(w, "  Ended:    %s\n", stamp(e.Closed))
	}
	fmt.Fprintf(w, "  Status:   %s\n", statusLine(p))
	if link != "" {
		fmt.Fprintf(w, "  Temporal: %s\n", link)
	}
	if len(p.Waves) > 0 {
		fmt.Fprintln(w, "\nWaves")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  WAVE\tPHASE\tAPPROVED BY\tORGANIZATIONS")
		for _, wv := range p.Waves {
			approved := "not needed"
			if wv.NeedsApproval {
				approved = approvers(wv.Approvals)
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", wv.Number, orDash(string(wv.Phase)), approved, brief.List(wv.Organizations, 6))
		}
		tw.Flush()
	}
	if len(p.Targets) > 0 {
		shown := p.Targets
		if !every && len(p.Targets) > statusOrganizations {
			shown = workflows.Noteworthy(p.Targets, statusOrganizations)
			fmt.Fprintf(w, "\nOrganizations: %s, %s\n", brief.Count(len(p.Targets)), phaseCounts(p.Targets))
		} else {
			fmt.Fprintln(w, "\nOrganizations")
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ORGANIZATION\tWAVE\tPHASE\tDETAIL")
		for _, t := range shown {
			detail := targetDetail(t)
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", t.Organization, t.Wave, t.Phase, detail)
		}
		tw.Flush()
		if rest := len(p.Targets) - len(shown); rest > 0 {
			fmt.Fprintf(w, "  … %s more not shown; trailgate status %s --organizations lists every one\n", brief.Count(rest), p.ChangeID)
		}
	}
	if !p.Phase.Final() && p.Awaiting != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, awaitingLine(p))
	}
	if p.Phase.Final() {
		fmt.Fprintln(w)
		fmt.Fprintln(w, outcomeLine(p))
	}
}

// statusOrganizations is how many organizations status lists one by one
// before it summarises.
const statusOrganizations = workflows.DetailedTargets

// phaseCounts counts organizations by phase, most first: "950 succeeded,
// 50 applying".
func phaseCounts(ts []workflows.TargetSummary) string {
	counts := map[workflows.Phase]int{}
	var order []workflows.Phase
	for _, t := range ts {
		if counts[t.Phase] == 0 {
			order = append(order, t.Phase)
		}
		counts[t.Phase]++
	}
	slices.SortStableFunc(order, func(a, b workflows.Phase) int { return counts[b] - counts[a] })
	parts := make([]string, 0, len(order))
	for _, ph := range order {
		parts = append(parts, brief.Count(counts[ph])+" "+string(ph))
	}
	return strings.Join(parts, ", ")
}

// targetDetail says in a few words where an organization stands.
func targetDetail(t workflows.TargetSummary) string {
	switch {
	case t.Error != "":
		return "error: " + shortError(oneLine(t.Error))
	case t.Evidence != nil:
		return "verified: " + workflows.DescribeAccess(t.Evidence.TrustedAccess, t.Evidence.ServiceLinkedRole)
	case t.Phase.Final() && t.Plan != nil:
		return planSummary(*t.Plan)
	case t.Message != "":
		return oneLine(t.Message)
	case t.Plan != nil:
		return planSummary(*t.Plan)
	}
	return ""
}

func planSummary(p workflows.Plan) string {
	if p.Empty() {
		return "nothing to do"
	}
	kinds := make([]string, 0, len(p.Steps))
	for _, st := range p.Steps {
		kinds = append(kinds, st.Kind)
	}
	return "plan: " + strings.Join(kinds, ", ")
}

// statusLine is where a change stands, in one line.
func statusLine(p workflows.ChangeProgress) string {
	parts := []string{string(p.Phase)}
	if len(p.Waves) > 0 {
		parts = append(parts, fmt.Sprintf("wave %d/%d", min(max(p.CurrentWave, 1), len(p.Waves)), len(p.Waves)))
	}
	parts = append(parts, fmt.Sprintf("%d/%d organizations done", p.Done(), len(p.Targets)))
	if p.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed (budget %d)", p.Failed, p.FailureBudget))
	}
	if p.Paused != nil {
		parts = append(parts, fmt.Sprintf("paused by %s: %s", personName(p.Paused.Who), p.Paused.Reason))
	}
	switch {
	case p.Awaiting == nil || p.Phase.Final():
	case p.Phase == workflows.PhaseAwaitingWindow:
		parts = append(parts, "mutations wait for the maintenance window opening at "+minute(p.Awaiting.Expires))
	default:
		parts = append(parts, "awaiting "+p.Awaiting.What+whoSuffix(p.Awaiting.Who))
		if w := p.CurrentWave; p.Phase == workflows.PhaseAwaitingApproval && w >= 1 && w <= len(p.Waves) && len(p.Waves[w-1].Approvals) > 0 {
			parts = append(parts, "approved so far by "+approvers(p.Waves[w-1].Approvals))
		}
	}
	return strings.Join(parts, " · ")
}

// writeRetrying lists the AWS calls a change's organizations are retrying.
func writeRetrying(w io.Writer, retrying []Retry) {
	if len(retrying) == 0 {
		return
	}
	fmt.Fprintln(w, "\nRetrying")
	for _, r := range retrying {
		fmt.Fprintf(w, "  %s  %s\n", r.Organization, r.describe())
	}
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

// writeChangeList lists changes, one a line, or says there are none yet.
func writeChangeList(w io.Writer, listed []ChangeListing) error {
	if len(listed) == 0 {
		_, err := fmt.Fprintln(w, "No changes yet; start one with `trailgate enable` or `trailgate disable`.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANGE\tACTION\tPHASE\tSTARTED")
	for _, c := range listed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ChangeID, orDash(c.Action), orDash(c.Phase), orDash(stamp(c.Started)))
	}
	return tw.Flush()
}

// Who, audits, doctor.

// writeIdentity prints who a proof proves, for people.
func writeIdentity(w io.Writer, id workflows.Identity) {
	principal := id.Who.ARN + " (verified by STS)"
	if id.Who.Claimed {
		principal = "none: " + id.Who.By + " is claimed, not verified (the worker allows claims)"
	}
	fmt.Fprintf(w, "Principal: %s\n", principal)
	fmt.Fprintf(w, "Person:    %s\n", id.Who.By)
	fmt.Fprintf(w, "Roles:     %s\n", strings.Join(id.Roles, ", "))
	fmt.Fprintf(w, "Policy:    %s\n", policyText(id.Policy))
}

// writeAudit prints an audit for people, organization by organization.
func writeAudit(w io.Writer, r workflows.AuditReport) {
	fmt.Fprintf(w, "Drift audit %s (read-only; nothing was changed)\n", r.AuditID)
	for _, o := range r.Organizations {
		fmt.Fprintf(w, "\n%s: desired %s (%s)\n", o.Organization, o.Desired, o.DesiredFrom)
		n := 0
		for _, f := range r.Findings {
			if f.Organization != o.Organization {
				continue
			}
			n++
			label := "drift"
			if !f.Kind.Drift() {
				label = "note"
			}
			fmt.Fprintf(w, "  %s: %s", label, f.Kind)
			if f.Subject != "" {
				fmt.Fprintf(w, " %s", f.Subject)
			}
			fmt.Fprintf(w, ": expected %s, found %s (since %s)\n", f.Expected, f.Actual, instant(f.Since))
		}
		if n == 0 {
			fmt.Fprintln(w, "  matches")
		}
	}
	if len(r.Appeared) > 0 || len(r.Resolved) > 0 {
		fmt.Fprintf(w, "\nSince the previous audit: %d appeared, %d resolved (announced).\n", len(r.Appeared), len(r.Resolved))
	}
}

// writeSchedule shows the drift audit's schedule.
func writeSchedule(w io.Writer, sc scheduleJSON) {
	state := "active"
	if sc.Paused {
		state = "paused"
	}
	fmt.Fprintf(w, "Schedule %s: %s, every %s, overlaps %s, catch-up window %s\n", sc.ID, state, strings.Join(sc.Every, ", "), sc.Overlap, sc.CatchupWindow)
	if sc.Note != "" {
		fmt.Fprintf(w, "Note: %s\n", sc.Note)
	}
	for _, t := range sc.NextRuns {
		fmt.Fprintf(w, "Next: %s\n", instant(t))
	}
	for _, r := range sc.Recent {
		fmt.Fprintf(w, "Ran: %s %s\n", instant(r.ScheduledAt), r.WorkflowID)
	}
}

// writeDoctorTable prints the report as a table; a failed check's fix is
// on the line below its detail.
func writeDoctorTable(w io.Writer, r DoctorReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range r.Checks {
		status := "ok"
		switch {
		case !c.OK:
			status = "FAIL"
		case c.Warn:
			status = "warn"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, status, c.Detail)
		if (!c.OK || c.Warn) && c.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write doctor report: %w", err)
	}
	if r.OK {
		warnings := ""
		if n := warned(r); n > 0 {
			warnings = fmt.Sprintf(" (%d with a warning)", n)
		}
		_, err := fmt.Fprintf(w, "\nAll %d checks passed%s.\n", len(r.Checks), warnings)
		return err
	}
	return nil
}

func warned(r DoctorReport) int {
	n := 0
	for _, c := range r.Checks {
		if c.Warn {
			n++
		}
	}
	return n
}

// Following a change: its record entries as lines, and a status line redrawn in place on a terminal.

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
	stepAt string
	drawn  bool
	warned bool
}

func newProgressView(o output) *progressView {
	return &progressView{out: o.stdout, errOut: o.stderr, tty: o.tty, width: o.width, quiet: o.json, seen: map[string]bool{}}
}

// markSeen keeps entries from being shown.
func (v *progressView) markSeen(entries []workflows.RecordEntry) {
	for _, e := range entries {
		v.seen[entryKey(e)] = true
	}
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
	many := len(p.Targets) > statusOrganizations
	for _, e := range fresh {
		if many && routine(e) {
			continue
		}
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
	} else if status != v.status && (!many || v.step(p)) {
		fmt.Fprintln(v.out, "  ⋯ "+status)
	}
	v.status = status
	return fresh
}

// routine says whether an organization's record entry is one that every
// organization of a change makes when all goes well: a change over many
// organizations is followed without them.
func routine(e workflows.RecordEntry) bool {
	return e.Kind != recordRetrying && e.Routine()
}

// step says whether a change over many organizations has moved enough for
// a new status line without a terminal: another phase or wave, or another
// tenth of its organizations done.
func (v *progressView) step(p workflows.ChangeProgress) bool {
	at := fmt.Sprintf("%s/%d/%d", p.Phase, p.CurrentWave, p.Done()*10/max(len(p.Targets), 1))
	if at == v.stepAt {
		return false
	}
	v.stepAt = at
	return true
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

func entryKey(e workflows.RecordEntry) string {
	return exact(e.At) + "|" + e.Organization + "|" + string(e.Kind) + "|" + e.Detail
}

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

// Words.

// actionPhrase says what a change of the action does, for people.
func actionPhrase(a workflows.Action) string {
	if a == workflows.ActionRollback {
		return "roll back: re-enable CloudTrail trusted access"
	}
	return string(a) + " CloudTrail trusted access"
}

// personName is a person as status lines show them: their name, marked
// when it was claimed rather than proven.
func personName(w workflows.Who) string {
	if w.Claimed {
		return w.By + " (claimed)"
	}
	return w.By
}

func approvers(ds []workflows.Decision) string {
	if len(ds) == 0 {
		return "-"
	}
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		names = append(names, personName(d.Who))
	}
	return strings.Join(names, ", ")
}

// requestedBy is the requester of a change as the worker proved them:
// "dave (arn:…)", or "dave (claimed, not verified)".
func requestedBy(p workflows.ChangeProgress) string {
	if p.RequestedBy.By != "" {
		return p.RequestedBy.String()
	}
	return orDash(p.Requester)
}

// policyText is the gate policy in force, in one line: approvals, from
// whom, the CloudTrail administrators, and whether claims are accepted.
func policyText(p workflows.GatePolicy) string {
	approvers := "any proven person but the requester"
	if len(p.Approvers) > 0 {
		approvers = strings.Join(p.Approvers, ", ")
	}
	claims := "claims not accepted (every decision is proven)"
	if p.AllowClaims {
		claims = "claims accepted (--as without proof, marked claimed, not verified)"
	}
	text := fmt.Sprintf("%d approval(s) from %s; CloudTrail administrators: %s; %s", p.RequiredApprovals, approvers, orDash(strings.Join(p.CloudTrailAdmins, ", ")), claims)
	if p.Timeout > 0 {
		text += "; gates expire after " + shortDuration(p.Timeout)
	}
	return text
}

func whoSuffix(who []string) string {
	if len(who) == 0 {
		return ""
	}
	return " from " + strings.Join(who, ", ")
}

// entryPeople are the people of a record entry, each as show says: as
// proven (name and verified ARN, or marked claimed) where the entry keeps
// identities, else by name.
func entryPeople(e workflows.RecordEntry, show func(workflows.Who) string) []string {
	if len(e.Identities) == 0 {
		return e.People
	}
	people := make([]string, 0, len(e.Identities))
	for _, w := range e.Identities {
		people = append(people, show(w))
	}
	return people
}

func byWhom(identity string) string {
	if identity == "" {
		return ""
	}
	return " by " + identity
}

func comment(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
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

// shortDuration writes 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}
