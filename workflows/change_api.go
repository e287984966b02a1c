package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/trailgate/trailgate/activities"
)

// ChangeInput starts a ChangeWorkflow: one action over many organizations,
// in waves. It names organizations and carries the requester's choices; the
// worker resolves everything else (accounts, roles, trail, gate policy)
// from its own configuration when the change starts.
type ChangeInput struct {
	ChangeID string `json:"change_id"`
	Action   Action `json:"action"`
	// Organizations are names the worker's configuration knows.
	Organizations []string `json:"organizations"`
	// Waves slice the organizations, in order: "1" (a count), "25%" (a share
	// of all organizations) or "rest". Empty means one wave of all.
	Waves []string `json:"waves"`
	// Concurrency is how many organizations of a wave mutate at once; zero
	// means all of them.
	Concurrency int `json:"concurrency"`
	// FailureBudget is how many organizations may fail before the change
	// halts; zero halts at the first failure.
	FailureBudget int `json:"failure_budget"`
	// ApproveEveryWave asks for approval before every wave; otherwise only
	// the first wave waits for approvers.
	ApproveEveryWave bool `json:"approve_every_wave"`
	// Windows, when set, are the only times in which mutations may start.
	Windows []MaintenanceWindow `json:"windows,omitempty"`
	Reason  string              `json:"reason,omitempty"`
	// Requester proves who asks for the change (a sealed proof bound to
	// this input, or a claimed name where the worker allows claims).
	Requester Who `json:"requester"`

	// Carried is set by the workflow itself when it continues as new between
	// waves, to stay within Temporal's history limits: its progress, what
	// the worker resolved when the change started, and the nonces of the
	// proofs already used.
	Carried *Carried `json:"carried,omitempty"`
}

// Carried is what a change carries into its next run.
type Carried struct {
	Progress   ChangeProgress        `json:"progress"`
	Resolution activities.Resolution `json:"resolution"`
	UsedNonces []string              `json:"used_nonces,omitempty"`
}

// Limits on what people type, so that a change's history stays readable.
const (
	// MaxWaveOrganizations is the most organizations one wave holds. A
	// change continues as new only between waves, and its history takes
	// about 8 events and 15 KB for each organization of a wave (measured:
	// waves of 2,000 took 13,199 to 16,481 events and 31 to 32 MB): a wave
	// of about 3,300 would pass Temporal's limit of 50 MB a history. It is
	// also as many organizations as the worker resolves in one answer.
	MaxWaveOrganizations = 2000
	maxReasonLength      = 2000
	maxCommentLength     = 2000
	// maxOrganizationName is the longest name the worker's configuration
	// gives an organization.
	maxOrganizationName = 64
)

// Validate says what is wrong with a change input, all at once: an
// *InvalidInputError whose problems name the fields they are about.
func (in ChangeInput) Validate() error { return in.validate(true) }

// validate is Validate, with waves held to MaxWaveOrganizations only when
// bounded: a change started before versionWaveBound was not.
func (in ChangeInput) validate(bounded bool) error {
	problems := changeAndActionProblems(in.ChangeID, in.Action)
	if len(in.Organizations) == 0 {
		problems = append(problems, Problem{Field: FieldOrganizations, Kind: ProblemMissing, Text: "no organizations: name some with --org, or use --all"})
	}
	seen := map[string]bool{}
	for _, name := range in.Organizations {
		switch {
		case name == "":
			problems = append(problems, Problem{Field: FieldOrganizations, Kind: ProblemEmpty, Text: "an organization name is empty"})
		case len(name) > maxOrganizationName:
			problems = append(problems, about(FieldOrganizations, fmt.Sprintf("an organization name is %d characters long; the worker's configuration names organizations in at most %d", len(name), maxOrganizationName))...)
		case strings.ContainsFunc(name, unicode.IsControl):
			problems = append(problems, about(FieldOrganizations, fmt.Sprintf("organization name %q holds control characters; name an organization of the worker's configuration", name))...)
		case seen[name]:
			problems = append(problems, Problem{Field: FieldOrganizations, Kind: ProblemRepeated, Value: name, Text: fmt.Sprintf("organization %s is named twice", name)})
		}
		seen[name] = true
	}
	if sizes, err := PlanWaves(in.Waves, len(in.Organizations)); err != nil {
		problems = append(problems, about(FieldWaves, err.Error())...)
	} else if big := slices.Max(append(sizes, 0)); bounded && big > MaxWaveOrganizations {
		problems = append(problems, about(FieldWaves, fmt.Sprintf("a wave of %d organizations is more than %d, the most one wave holds; split the change into waves, for example --waves %s",
			big, MaxWaveOrganizations, strings.Join(WavesOfAtMost(MaxWaveOrganizations, len(in.Organizations)), ",")))...)
	}
	if in.Concurrency < 0 {
		problems = append(problems, about(FieldConcurrency, "concurrency must be 0 (all at once) or more")...)
	}
	if in.FailureBudget < 0 {
		problems = append(problems, about(FieldFailureBudget, "the failure budget must be 0 or more")...)
	}
	for _, w := range in.Windows {
		if err := w.Validate(); err != nil {
			problems = append(problems, about(FieldWindows, err.Error())...)
		}
	}
	problems = append(problems, about(FieldReason, textProblems("the reason", in.Reason, maxReasonLength)...)...)
	return invalidInput("change", problems)
}

// textProblems are what is wrong with free text people type: too long, or
// holding control characters that would garble records and terminals.
func textProblems(what, s string, limit int) []string {
	var problems []string
	if len(s) > limit {
		problems = append(problems, fmt.Sprintf("%s is %d characters long; keep it under %d", what, len(s), limit))
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		problems = append(problems, what+" holds control characters; write plain text")
	}
	return problems
}

// WavesOfAtMost are the wave specs that slice n organizations into waves
// of size each, the last taking the rest.
func WavesOfAtMost(size, n int) []string {
	specs := make([]string, 0, n/max(size, 1)+1)
	for range (n - 1) / max(size, 1) {
		specs = append(specs, strconv.Itoa(size))
	}
	return append(specs, "rest")
}

// PlanWaves slices n organizations into waves by the specs: "N" takes N
// organizations, "P%" takes P percent of all n (at least one), "rest" takes
// what is left and must come last. Organizations the specs leave over form a
// last wave. It returns each wave's size.
func PlanWaves(specs []string, n int) ([]int, error) {
	if len(specs) == 0 {
		specs = []string{"rest"}
	}
	var sizes []int
	left := n
	for i, raw := range specs {
		s := strings.TrimSpace(strings.ToLower(raw))
		var size int
		switch {
		case s == "rest" || s == "all":
			if i != len(specs)-1 {
				return nil, fmt.Errorf("wave %q must be the last wave", raw)
			}
			size = left
		case strings.HasSuffix(s, "%"):
			p, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
			if err != nil || p <= 0 || p > 100 {
				return nil, fmt.Errorf("wave %q: a share is 1%% to 100%%", raw)
			}
			size = max(1, n*p/100)
		default:
			c, err := strconv.Atoi(s)
			if err != nil || c <= 0 {
				return nil, fmt.Errorf("wave %q: write a count (1), a share (25%%) or rest", raw)
			}
			size = c
		}
		size = min(size, left)
		if size == 0 {
			continue
		}
		sizes = append(sizes, size)
		left -= size
	}
	if left > 0 {
		sizes = append(sizes, left)
	}
	return sizes, nil
}

// MaintenanceWindow is a daily time span, in UTC, in which mutations may
// start; Weekdays limits it to some days (mon … sun; empty means every day).
type MaintenanceWindow struct {
	Weekdays []string      `json:"weekdays,omitempty"`
	Start    string        `json:"start"` // HH:MM, UTC
	Duration time.Duration `json:"duration"`
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Validate says what is wrong with a window.
func (w MaintenanceWindow) Validate() error {
	if _, err := time.Parse("15:04", w.Start); err != nil {
		return fmt.Errorf("maintenance window start %q: write HH:MM in UTC", w.Start)
	}
	if w.Duration <= 0 || w.Duration > 24*time.Hour {
		return fmt.Errorf("maintenance window at %s: the duration must be between 1m and 24h", w.Start)
	}
	for _, d := range w.Weekdays {
		if _, ok := weekdays[strings.ToLower(d)]; !ok {
			return fmt.Errorf("maintenance window weekday %q: use mon, tue, wed, thu, fri, sat or sun", d)
		}
	}
	return nil
}

// ParseWindow reads a window as a user types it: "22:00+4h" or
// "sat,sun 02:00+6h".
func ParseWindow(s string) (MaintenanceWindow, error) {
	var w MaintenanceWindow
	fields := strings.Fields(s)
	if len(fields) == 2 {
		w.Weekdays = strings.Split(fields[0], ",")
		fields = fields[1:]
	}
	if len(fields) != 1 {
		return w, fmt.Errorf("maintenance window %q: write [days ]HH:MM+DURATION, for example \"sat,sun 02:00+6h\"", s)
	}
	start, dur, ok := strings.Cut(fields[0], "+")
	if !ok {
		return w, fmt.Errorf("maintenance window %q: write [days ]HH:MM+DURATION, for example \"22:00+4h\"", s)
	}
	d, err := time.ParseDuration(dur)
	if err != nil {
		return w, fmt.Errorf("maintenance window %q: duration %q: %w", s, dur, err)
	}
	w.Start, w.Duration = start, d
	return w, w.Validate()
}

// NextOpen returns when mutations may next start at or after now: now itself
// when no windows are set or one is open.
func NextOpen(windows []MaintenanceWindow, now time.Time) time.Time {
	if len(windows) == 0 {
		return now
	}
	now = now.UTC()
	var best time.Time
	for _, w := range windows {
		at, err := time.Parse("15:04", w.Start)
		if err != nil {
			continue
		}
		// Look from yesterday (a window may still be open past midnight) over a week.
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		for i := 0; i < 9; i++ {
			d := day.AddDate(0, 0, i)
			if !w.onDay(d.Weekday()) {
				continue
			}
			open := d.Add(time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute)
			closeAt := open.Add(w.Duration)
			if !now.Before(open) && now.Before(closeAt) {
				return now
			}
			if open.After(now) && (best.IsZero() || open.Before(best)) {
				best = open
			}
		}
	}
	if best.IsZero() {
		return now
	}
	return best
}

func (w MaintenanceWindow) onDay(d time.Weekday) bool {
	if len(w.Weekdays) == 0 {
		return true
	}
	for _, s := range w.Weekdays {
		if weekdays[strings.ToLower(s)] == d {
			return true
		}
	}
	return false
}

// TargetSummary is where one organization of a change stands.
type TargetSummary struct {
	Organization string     `json:"organization"`
	WorkflowID   string     `json:"workflow_id"`
	Wave         int        `json:"wave"`
	Phase        Phase      `json:"phase"`
	Plan         *Plan      `json:"plan,omitempty"`
	Inventory    *Inventory `json:"inventory,omitempty"`
	Evidence     *Evidence  `json:"evidence,omitempty"`
	Message      string     `json:"message,omitempty"`
	Error        string     `json:"error,omitempty"`
	// Told is what the change told the organization's workflow, in order.
	Told []ParentDecision `json:"told,omitempty"`
}

// WaveProgress is one wave of a change.
type WaveProgress struct {
	Number        int        `json:"number"`
	Organizations []string   `json:"organizations"`
	NeedsApproval bool       `json:"needs_approval"`
	Approvals     []Decision `json:"approvals"`
	Phase         Phase      `json:"phase"`
	// Round counts the wave's approval gates: 2 and on when a plan changed
	// since it was approved and the wave is approved again. Zero or one is
	// the first.
	Round int `json:"round,omitempty"`
}

// ApprovalRound is the wave's approval round now.
func (w WaveProgress) ApprovalRound() int { return max(w.Round, 1) }

// ChangeProgress is the answer of a change's progress query and, when the
// change ends, its result.
type ChangeProgress struct {
	ChangeID  string `json:"change_id"`
	Action    Action `json:"action"`
	Requester string `json:"requester"`
	// RequestedBy is the requester as proven.
	RequestedBy Who    `json:"requested_by"`
	Reason      string `json:"reason,omitempty"`
	// Policy is the gate policy in force, fixed when the change started.
	Policy        *GatePolicy     `json:"policy,omitempty"`
	Phase         Phase           `json:"phase"`
	CurrentWave   int             `json:"current_wave"`
	Waves         []WaveProgress  `json:"waves"`
	Targets       []TargetSummary `json:"targets"`
	Failed        int             `json:"failed"`
	FailureBudget int             `json:"failure_budget"`
	Paused        *Control        `json:"paused,omitempty"`
	Awaiting      *Awaiting       `json:"awaiting,omitempty"`
	Record        []RecordEntry   `json:"record"`
}

// DetailedTargets is how many organizations a change's answers carry with
// all their details. Beyond it, the progress query, the answers to
// decisions and the change's result give the plan, inventory and evidence
// only of the DetailedTargets most noteworthy organizations (Noteworthy),
// with what those wait for (the message), and leave out the entries of the change's record that every
// organization makes when all goes well (RecordEntry.Routine): each
// organization keeps them in its own workflow, where the record, the UI and
// the organization's query read them. With the managed trail an
// organization's details take about 1.7 KB, and Temporal refuses a payload
// of over 2 MB. What the change told each organization is left out at any
// size: the organization asks for it with QueryTold.
const DetailedTargets = 25

// briefError is how much of an error a change's answers give for an
// organization beyond the noteworthy ones.
const briefError = 200

// Bounded is p as the change's answers give it (DetailedTargets).
func (p ChangeProgress) Bounded() ChangeProgress {
	out := p
	out.Targets = slices.Clone(p.Targets)
	for i := range out.Targets {
		out.Targets[i].Told = nil
	}
	if len(out.Targets) <= DetailedTargets {
		return out
	}
	detailed := map[int]bool{}
	for _, i := range noteworthy(p.Targets, DetailedTargets) {
		detailed[i] = true
	}
	for i := range out.Targets {
		if detailed[i] {
			continue
		}
		t := &out.Targets[i]
		t.Plan, t.Inventory, t.Evidence, t.Message = nil, nil, nil, ""
		if len(t.Error) > briefError {
			t.Error = t.Error[:briefError] + "…"
		}
	}
	out.Record = withoutRoutine(p.Record)
	return out
}

// Noteworthy picks at most n of a change's organizations for a summary:
// first those that failed, then those at work or waiting, in the change's
// order.
func Noteworthy(ts []TargetSummary, n int) []TargetSummary {
	idx := noteworthy(ts, n)
	out := make([]TargetSummary, len(idx))
	for i, j := range idx {
		out[i] = ts[j]
	}
	return out
}

func noteworthy(ts []TargetSummary, n int) []int {
	var failed, busy []int
	for i, t := range ts {
		switch {
		case t.Error != "" || (t.Phase.Final() && !t.Phase.Successful()):
			failed = append(failed, i)
		case !t.Phase.Final() && t.Phase != PhasePending:
			busy = append(busy, i)
		}
	}
	shown := append(failed, busy...)
	return shown[:min(n, len(shown))]
}

// withoutRoutine is a record without its routine entries.
func withoutRoutine(r []RecordEntry) []RecordEntry {
	return slices.DeleteFunc(slices.Clone(r), RecordEntry.Routine)
}

// Done counts the targets that reached a final phase.
func (p ChangeProgress) Done() int {
	n := 0
	for _, t := range p.Targets {
		if t.Phase.Final() {
			n++
		}
	}
	return n
}

// PlanInput asks what a change would do to each organization the worker's
// configuration knows by these names.
type PlanInput struct {
	Action        Action   `json:"action"`
	Organizations []string `json:"organizations"`
}

// TargetPlan is what a change would do to one organization, or why that
// could not be read.
type TargetPlan struct {
	Organization string     `json:"organization"`
	Plan         *Plan      `json:"plan,omitempty"`
	Inventory    *Inventory `json:"inventory,omitempty"`
	Error        string     `json:"error,omitempty"`
}

// PlanResult is the answer of a PlanWorkflow, in the order organizations
// were given.
type PlanResult struct {
	Action  Action       `json:"action"`
	Targets []TargetPlan `json:"targets"`
}
