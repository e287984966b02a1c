package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/workflows"
)

// Moment is where in a change a kill lands.
type Moment string

// The moments of a change a kill can land at, in the order a wave meets
// them.
const (
	// AtCleanupGate: a disable waits for the CloudTrail administrator's
	// cleanup confirmation; only Temporal's timers run.
	AtCleanupGate Moment = "cleanup-gate"
	// AtApprovalGate: the first approval of a wave is in, the second is not
	// yet sent.
	AtApprovalGate Moment = "approval-gate"
	// WhileApplying: organizations of the wave are mutating AWS.
	WhileApplying Moment = "applying"
	// WhileVerifying: organizations of the wave read AWS back after their
	// mutations.
	WhileVerifying Moment = "verifying"
)

var moments = []Moment{AtCleanupGate, AtApprovalGate, WhileApplying, WhileVerifying}

func (m Moment) atGate() bool { return m == AtCleanupGate || m == AtApprovalGate }

// Scope is what a kill takes down. With one process, every kill takes
// down everything.
type Scope string

// The scopes of a kill.
const (
	// KillAll kills every process: Temporal, the AWS sandbox and the worker.
	KillAll Scope = "all"
	// KillDevDefault kills Temporal and the AWS sandbox; the worker lives
	// on and reconnects.
	KillDevDefault Scope = "dev-default"
	// KillWorker kills the worker; Temporal waits for its activities to
	// time out.
	KillWorker Scope = "worker"
)

// Kill is one SIGKILL of a round.
type Kill struct {
	// Wave is the wave of the change it lands in (1-based).
	Wave int
	At   Moment
	// After is how long after the moment is first seen the kill lands;
	// gates ignore it.
	After time.Duration
	Scope Scope
}

func (k Kill) String() string {
	s := fmt.Sprintf("%s w%d", k.At, k.Wave)
	if !k.At.atGate() {
		s += fmt.Sprintf(" +%.1fs", k.After.Seconds())
	}
	return s + " (" + string(k.Scope) + ")"
}

// Round is one change over every organization, and the kills it suffers.
type Round struct {
	Number int
	Action workflows.Action
	Kills  []Kill
}

// Landed is a kill as it happened.
type Landed struct {
	Kill
	// Phases counts the change's organizations by phase just before the
	// kill; organizations of waves not yet started count as pending.
	Phases map[workflows.Phase]int
	// Down is from the SIGKILL until Temporal and the sandbox answered again.
	Down time.Duration
}

// Result is what a round did and what it found.
type Result struct {
	Round    Round
	ChangeID string
	// Phase is the change's final phase.
	Phase  workflows.Phase
	Landed []Landed
	// Missed are the planned kills whose moment never came.
	Missed        []Kill
	Organizations int
	// Succeeded counts organizations whose target ended succeeded.
	Succeeded int
	// InAWS counts organizations that AWS, read back as their management
	// account, shows as the change asked.
	InAWS int
	// Decisions counts the decisions the worker acknowledged (the request,
	// approvals, cleanup confirmations); Kept, those in the final record.
	Decisions, Kept int
	// Repeated counts AWS activity attempts made again; AfterErrors, those
	// whose last failure was not a timeout (Errors says what they were).
	Repeated, AfterErrors int
	Errors                []string
	Took                  time.Duration
	// Problems is what a user would have been hurt by; empty means none.
	Problems []string
}

// OK reports whether the round found no problem.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// Waves are the change's waves: a canary of a tenth of the organizations
// (at least one), then the rest.
func (h *Harness) Waves() []string {
	return []string{strconv.Itoa(max(1, len(h.orgs)/10)), "rest"}
}

// Draw plans round number: an enable on odd rounds and a disable on even
// ones, so that every round changes every organization. Each round is
// killed once while organizations apply or verify, at a random delay, in a
// random wave; half the rounds are killed at a gate too: an enable between
// two approvals, a disable while it awaits cleanup (with two processes,
// only the dev default: Temporal and the sandbox).
func (h *Harness) Draw(number int) Round {
	r := Round{Number: number, Action: workflows.ActionEnable}
	if number%2 == 0 {
		r.Action = workflows.ActionDisable
	}
	waves := len(h.Waves())
	r.Kills = append(r.Kills, Kill{
		Wave:  1 + h.rng.IntN(waves),
		At:    []Moment{WhileApplying, WhileVerifying}[h.rng.IntN(2)],
		After: time.Duration(h.rng.Int64N(int64(1500 * time.Millisecond))),
		Scope: h.drawScope(),
	})
	if h.rng.IntN(2) == 0 {
		gate := Kill{Wave: 1 + h.rng.IntN(waves), At: AtApprovalGate, Scope: h.drawScope()}
		if r.Action == workflows.ActionDisable {
			gate.At, gate.Scope = AtCleanupGate, KillDevDefault
			if h.worker == nil {
				gate.Scope = KillAll
			}
		}
		r.Kills = append(r.Kills, gate)
	}
	slices.SortFunc(r.Kills, func(a, b Kill) int {
		if a.Wave != b.Wave {
			return a.Wave - b.Wave
		}
		return slices.Index(moments, a.At) - slices.Index(moments, b.At)
	})
	return r
}

// drawScope: half the kills take everything down, a quarter Temporal and
// the sandbox, a quarter the worker.
func (h *Harness) drawScope() Scope {
	if h.worker == nil {
		return KillAll
	}
	switch h.rng.IntN(4) {
	case 0:
		return KillDevDefault
	case 1:
		return KillWorker
	}
	return KillAll
}

// roundTimeout bounds a round: each kill of a worker mid-activity costs
// the activity's one-minute timeout before Temporal retries it.
const roundTimeout = 15 * time.Minute

// pollEvery is how often the harness looks at a change.
const pollEvery = 150 * time.Millisecond

// Run plays a round: the requester asks for the change, the approvers and
// the CloudTrail administrator decide as the gates come, the kills land as
// planned, and once the change ends the round checks it against AWS.
func (h *Harness) Run(ctx context.Context, r Round) Result {
	started := time.Now()
	ctx, cancel := context.WithTimeout(ctx, roundTimeout)
	defer cancel()
	ro := &rollout{h: h, round: r, pending: slices.Clone(r.Kills), acked: map[int][]string{},
		res: Result{Round: r, ChangeID: fmt.Sprintf("chaos-r%02d-%s-%s", r.Number, r.Action, nonce()[:6]), Organizations: len(h.orgs)}}
	if h.worker == nil {
		for i := range ro.pending {
			ro.pending[i].Scope = KillAll
		}
	}
	h.say("round %d: %s over %d organizations in waves %v, kills planned: %v", r.Number, r.Action, len(h.orgs), h.Waves(), ro.pending)
	if err := ro.start(ctx); err != nil {
		ro.problem("start the change: %v", err)
	} else if err := ro.drive(ctx); err != nil {
		ro.problem("follow the change: %v", err)
	} else {
		ro.check(ctx)
	}
	ro.res.Missed = append(ro.res.Missed, ro.pending...)
	ro.res.Took = time.Since(started)
	h.say("round %d: %s in %s, %d/%d organizations succeeded, %d/%d as asked in AWS, %d problem(s)",
		r.Number, ro.res.Phase, ro.res.Took.Round(time.Second), ro.res.Succeeded, len(h.orgs), ro.res.InAWS, len(h.orgs), len(ro.res.Problems))
	return ro.res
}

// rollout is one round while it runs.
type rollout struct {
	h       *Harness
	round   Round
	pending []Kill
	res     Result
	// acked are the approvers whose approval of a wave the worker
	// acknowledged; cleanups, the confirmations it acknowledged.
	acked    map[int][]string
	cleanups int
	// stuckSince is when every approval of the gate was acknowledged and
	// the change still awaited one.
	stuckSince time.Time
}

func (ro *rollout) problem(format string, args ...any) {
	ro.res.Problems = append(ro.res.Problems, fmt.Sprintf(format, args...))
}

// start asks for the change, proven by the requester, as the CLI does.
func (ro *rollout) start(ctx context.Context) error {
	h := ro.h
	in, err := h.people.request(ctx, workflows.ChangeInput{
		ChangeID: ro.res.ChangeID, Action: ro.round.Action, Organizations: h.Organizations(),
		Waves: h.Waves(), ApproveEveryWave: true,
		Reason: fmt.Sprintf("chaos round %d: %d kill(s) planned", ro.round.Number, len(ro.round.Kills)),
	})
	if err != nil {
		return err
	}
	_, err = h.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    in.ChangeID,
		TaskQueue:             h.cfg.Temporal.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.ChangeIDKey.ValueSet(in.ChangeID),
			workflows.ActionKey.ValueSet(string(in.Action)),
			workflows.PhaseKey.ValueSet(string(workflows.PhasePending)),
		),
	}, workflows.ChangeWorkflowName, in)
	if err != nil {
		return err
	}
	ro.res.Decisions++
	return nil
}

// drive follows the change to its end: deciding at its gates and landing
// the planned kills.
func (ro *rollout) drive(ctx context.Context) error {
	for {
		if err := ro.h.alive(); err != nil {
			return err
		}
		p, err := ro.h.progress(ctx, ro.res.ChangeID)
		if err != nil {
			return err
		}
		ro.pastGates(p)
		switch {
		case p.Phase.Final():
			return nil
		case p.Phase == workflows.PhaseAwaitingCleanup && awaitsCleanup(p):
			if k, ok := ro.next(p.CurrentWave, AtCleanupGate); ok {
				if err := ro.land(ctx, k, p.CurrentWave); err != nil {
					return err
				}
			}
			if err := ro.confirmCleanup(ctx); err != nil {
				return err
			}
		case p.Phase == workflows.PhaseAwaitingApproval:
			if err := ro.approve(ctx, p); err != nil {
				return err
			}
		case p.Phase == workflows.PhaseApplying:
			if err := ro.killMidRollout(ctx, p.CurrentWave); err != nil {
				return err
			}
		}
		if err := sleep(ctx, pollEvery); err != nil {
			return fmt.Errorf("change %s is %s at wave %d after %s: %w", p.ChangeID, p.Phase, p.CurrentWave, roundTimeout, err)
		}
	}
}

// awaitsCleanup reports whether some organization of the current wave
// awaits a confirmation that has not been given: a confirmation covers
// those awaiting it when it comes, and later ones ask again.
func awaitsCleanup(p workflows.ChangeProgress) bool {
	return slices.ContainsFunc(p.Targets, func(t workflows.TargetSummary) bool {
		return t.Wave == p.CurrentWave && t.Phase == workflows.PhaseAwaitingCleanup
	})
}

// next is the first pending kill when it is due at the moment of the wave.
func (ro *rollout) next(wave int, at Moment) (Kill, bool) {
	if len(ro.pending) == 0 || ro.pending[0].Wave != wave || ro.pending[0].At != at {
		return Kill{}, false
	}
	return ro.pending[0], true
}

// pastGates drops the pending gate kills whose gate the change has passed.
func (ro *rollout) pastGates(p workflows.ChangeProgress) {
	for len(ro.pending) > 0 {
		k := ro.pending[0]
		passed := k.Wave < p.CurrentWave ||
			(k.Wave == p.CurrentWave && k.At == AtCleanupGate && p.Phase != workflows.PhaseAwaitingCleanup && p.Phase != workflows.PhasePreflight && p.Phase != workflows.PhasePlanning) ||
			(k.Wave == p.CurrentWave && k.At == AtApprovalGate && p.Phase == workflows.PhaseApplying) ||
			p.Phase.Final()
		if !k.At.atGate() || !passed {
			return
		}
		ro.res.Missed = append(ro.res.Missed, k)
		ro.pending = ro.pending[1:]
	}
}

// approve sends the next approval of the wave; a planned kill at the
// approval gate lands right after the first.
func (ro *rollout) approve(ctx context.Context, p workflows.ChangeProgress) error {
	wave := p.CurrentWave
	acked := ro.acked[wave]
	if len(acked) == len(ro.h.people.approvers) {
		// Every approval is acknowledged and the gate still waits: one was
		// lost. Give the change a moment to take in the last one.
		if ro.stuckSince.IsZero() {
			ro.stuckSince = time.Now()
		} else if time.Since(ro.stuckSince) > time.Minute {
			return fmt.Errorf("wave %d still awaits approval a minute after %v approved it and the worker acknowledged it: a decision was lost", wave, acked)
		}
		return nil
	}
	ro.stuckSince = time.Time{}
	person := ro.h.people.approvers[len(acked)]
	err := ro.decide(ctx, workflows.UpdateApprove,
		func() (any, error) { return ro.h.people.approval(ctx, person, ro.res.ChangeID, wave) },
		func(p workflows.ChangeProgress) bool { return approvedBy(p, wave, person) })
	if err != nil {
		return fmt.Errorf("%s approves wave %d: %w", person, wave, err)
	}
	ro.acked[wave] = append(acked, person)
	ro.res.Decisions++
	if k, ok := ro.next(wave, AtApprovalGate); ok && len(ro.acked[wave]) == 1 {
		return ro.land(ctx, k, wave)
	}
	return nil
}

func approvedBy(p workflows.ChangeProgress, wave int, person string) bool {
	return wave <= len(p.Waves) && slices.ContainsFunc(p.Waves[wave-1].Approvals, func(d workflows.Decision) bool { return d.By == person })
}

func (ro *rollout) confirmCleanup(ctx context.Context) error {
	err := ro.decide(ctx, workflows.UpdateConfirmCleanup,
		func() (any, error) { return ro.h.people.cleanup(ctx, ro.res.ChangeID) },
		func(p workflows.ChangeProgress) bool { return ro.confirmations(p) > ro.cleanups })
	if err != nil {
		return fmt.Errorf("%s confirms cleanup: %w", ro.h.people.admin, err)
	}
	ro.cleanups++
	ro.res.Decisions++
	return nil
}

// recordCleanupConfirmed is the kind of record entry a cleanup confirmation
// leaves (workflows.RecordEntry.Kind).
const recordCleanupConfirmed = "cleanup-confirmed"

// confirmations counts the cleanup confirmations the administrator gave,
// as the change recorded them with their verified identity.
func (ro *rollout) confirmations(p workflows.ChangeProgress) int {
	n := 0
	for _, e := range p.Record {
		if e.Kind == recordCleanupConfirmed && len(e.Identities) > 0 &&
			e.Identities[0].By == ro.h.people.admin && e.Identities[0].ARN == ro.h.people.arns[ro.h.people.admin] {
			n++
		}
	}
	return n
}

// decide sends a decision until the worker acknowledges it. When the answer
// is lost on the way, the change's progress says whether it was taken; if
// not, the person proves it anew (a proof works once). A refusal ends it.
func (ro *rollout) decide(ctx context.Context, update string, prove func() (any, error), taken func(workflows.ChangeProgress) bool) error {
	for attempt := 1; ; attempt++ {
		arg, err := prove()
		if err != nil {
			return err
		}
		uctx, cancel := context.WithTimeout(ctx, time.Minute)
		handle, err := ro.h.client.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
			WorkflowID: ro.res.ChangeID, UpdateName: update, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = handle.Get(uctx, nil)
		}
		cancel()
		if err == nil {
			return nil
		}
		if _, refused := errors.AsType[*temporal.ApplicationError](err); refused {
			return fmt.Errorf("the worker refused it: %w", err)
		}
		p, perr := ro.h.progress(ctx, ro.res.ChangeID)
		if perr == nil && taken(p) {
			return nil
		}
		if attempt == 3 {
			return err
		}
	}
}

// killMidRollout lands the pending kill due in this wave while its
// organizations apply or verify: it watches their phases and, once one
// stands at the kill's moment, kills after the kill's delay. When the wave
// ends before the moment is seen, the kill moves on to the next wave.
func (ro *rollout) killMidRollout(ctx context.Context, wave int) error {
	if len(ro.pending) == 0 || ro.pending[0].At.atGate() || ro.pending[0].Wave > wave {
		return nil
	}
	k := ro.pending[0]
	names := ro.h.Organizations()
	sizes, err := workflows.PlanWaves(ro.h.Waves(), len(names))
	if err != nil {
		return err
	}
	first := 0
	for _, n := range sizes[:wave-1] {
		first += n
	}
	inWave := names[first : first+sizes[wave-1]]
	for {
		phases, err := ro.h.phases(ctx, ro.res.ChangeID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(inWave, func(o string) bool { return phases[o] == workflows.Phase(k.At) }) {
			if err := sleep(ctx, k.After); err != nil {
				return err
			}
			return ro.land(ctx, k, wave)
		}
		if !slices.ContainsFunc(inWave, func(o string) bool { return !phases[o].Final() }) {
			if wave < len(sizes) {
				ro.pending[0].Wave = wave + 1
			} else {
				ro.res.Missed = append(ro.res.Missed, k)
				ro.pending = ro.pending[1:]
			}
			return nil
		}
		if err := sleep(ctx, pollEvery/3); err != nil {
			return err
		}
	}
}

// land kills the processes of the kill's scope and starts them again.
func (ro *rollout) land(ctx context.Context, k Kill, wave int) error {
	h := ro.h
	k.Wave = wave
	phases, _ := h.phases(ctx, ro.res.ChangeID)
	counts := map[workflows.Phase]int{}
	for _, name := range h.Organizations() {
		p, ok := phases[name]
		if !ok {
			p = workflows.PhasePending
		}
		counts[p]++
	}
	killed := time.Now()
	if err := h.kill(k.Scope); err != nil {
		return err
	}
	if err := h.restart(ctx, h.hit(k.Scope)); err != nil {
		return err
	}
	l := Landed{Kill: k, Phases: counts, Down: time.Since(killed)}
	ro.res.Landed = append(ro.res.Landed, l)
	ro.pending = ro.pending[1:]
	h.say("round %d: SIGKILL %s, organizations %s; back in %s", ro.round.Number, k, phaseCounts(counts), l.Down.Round(time.Millisecond))
	return nil
}

// check takes the change's result and holds it against what a user relies
// on.
func (ro *rollout) check(ctx context.Context) {
	h := ro.h
	p, err := ro.result(ctx)
	if err != nil {
		ro.problem("read the change's result: %v", err)
		return
	}
	ro.res.Phase = p.Phase
	if p.Phase != workflows.PhaseSucceeded {
		ro.problem("change %s ended %s, not succeeded", p.ChangeID, p.Phase)
	}
	for _, t := range p.Targets {
		if t.Phase == workflows.PhaseSucceeded {
			ro.res.Succeeded++
			continue
		}
		ro.problem("organization %s ended %s: %s", t.Organization, t.Phase, t.Error)
	}

	// Every decision acknowledged before a kill is in the final record,
	// with the identity the worker verified.
	kept := 0
	if p.RequestedBy.By == h.people.requester && p.RequestedBy.ARN == h.people.arns[h.people.requester] {
		kept++
	} else {
		ro.problem("the record says the change was requested by %s, not %s", p.RequestedBy, h.people.requester)
	}
	for wave := 1; wave <= max(len(p.Waves), len(ro.acked)); wave++ {
		for _, person := range ro.acked[wave] {
			if wave <= len(p.Waves) && slices.ContainsFunc(p.Waves[wave-1].Approvals, func(d workflows.Decision) bool {
				return d.By == person && d.ARN == h.people.arns[person]
			}) {
				kept++
				continue
			}
			ro.problem("%s's approval of wave %d, acknowledged by the worker, is not in the record", person, wave)
		}
	}
	if n := ro.confirmations(p); n >= ro.cleanups {
		kept += ro.cleanups
	} else {
		ro.problem("%d cleanup confirmation(s) were acknowledged, the record holds %d", ro.cleanups, n)
		kept += n
	}
	ro.res.Kept = kept

	// AWS shows the change, read as each management account.
	for _, o := range h.orgs {
		on, err := o.trustedAccess(ctx)
		if err != nil {
			ro.problem("%v", err)
			continue
		}
		want := ro.round.Action == workflows.ActionEnable
		if on != want {
			ro.problem("organization %s: trusted access for CloudTrail is %t in AWS after the %s", o.Name, on, ro.round.Action)
			continue
		}
		if want {
			logging, err := o.trailLogging(ctx, h.cfg.Trail.Name)
			if err != nil {
				ro.problem("%v", err)
				continue
			}
			if !logging {
				ro.problem("organization %s: organization trail %s does not log after the enable", o.Name, h.cfg.Trail.Name)
				continue
			}
		}
		ro.res.InAWS++
	}

	if err := ro.countRepeats(ctx); err != nil {
		ro.problem("read the organizations' histories: %v", err)
	}
}

// result is the change's final progress, also when it failed.
func (ro *rollout) result(ctx context.Context) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	err := ro.h.client.GetWorkflow(ctx, ro.res.ChangeID, "").Get(ctx, &p)
	if appErr, ok := errors.AsType[*temporal.ApplicationError](err); ok && appErr.Type() == workflows.ErrChangeFailed {
		if derr := appErr.Details(&p); derr == nil {
			return p, nil
		}
	}
	return p, err
}

// countRepeats counts the AWS activity attempts that Temporal made again,
// from the organizations' histories: the attempt number of each activity
// and the failure of the attempt before it.
func (ro *rollout) countRepeats(ctx context.Context) error {
	for _, name := range ro.h.Organizations() {
		it := ro.h.client.GetWorkflowHistory(ctx, workflows.TargetWorkflowID(ro.res.ChangeID, name), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return err
			}
			a := ev.GetActivityTaskStartedEventAttributes()
			if a == nil || a.GetAttempt() <= 1 {
				continue
			}
			n := int(a.GetAttempt() - 1)
			ro.res.Repeated += n
			if f := a.GetLastFailure(); f != nil && f.GetTimeoutFailureInfo() == nil {
				ro.res.AfterErrors += n
				ro.res.Errors = append(ro.res.Errors, name+": "+f.GetMessage())
			}
		}
	}
	return nil
}
