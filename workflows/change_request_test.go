package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/workflows"
)

// recordOf is the change record's entries of one kind, their details
// joined.
func recordOf(p workflows.ChangeProgress, kind workflows.RecordKind) string {
	var details []string
	for _, e := range p.Record {
		if e.Kind == kind && e.Organization == "" {
			details = append(details, e.Detail)
		}
	}
	return strings.Join(details, "\n")
}

// The worker's policy decides whether a change can be decided at all: a
// policy that lets the requester's change through with the approvers it
// has starts; one that cannot is refused with what to fix, and nothing
// starts.
func TestTheWorkersPolicyAcceptsOnlyChangesItCanDecide(t *testing.T) {
	for _, tc := range []struct {
		name      string
		required  int
		approvers []string
		timeout   time.Duration
		approve   []string
		refusal   string // empty: the change runs and succeeds
		policy    string // what the record says of the policy in force
	}{
		{name: "one approval", required: 1, approvers: []string{"alice", "dave"}, approve: []string{"alice"},
			policy: "1 approval(s) from alice, dave"},
		{name: "anyone but the requester approves", required: 2, approve: []string{"alice", "mallory"},
			policy: "2 approval(s) from any proven person but the requester"},
		{name: "too few approvers besides the requester", required: 2, approvers: []string{"alice", "dave"},
			refusal: "the change needs 2 approval(s) but only 1 approver(s) other than the requester dave are listed"},
		{name: "no approval required", required: 0, approvers: []string{"alice", "bob"},
			refusal: "requires no approval: set approvals.required to 1 or more"},
		{name: "gates that never wait", required: 1, approvers: []string{"alice"}, timeout: -1,
			refusal: "gate timeout (approvals.timeout) must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newChangeHarness(t)
			h.policy.RequiredApprovals, h.policy.Approvers = tc.required, tc.approvers
			if tc.timeout < 0 {
				h.policy.Timeout = 0
			}
			in := one(workflows.ActionEnable)
			h.approveAt(time.Hour, tc.approve...)
			p, err := h.run(in)
			if tc.refusal != "" {
				if errorType(err) != workflows.ErrInvalidInput || !strings.Contains(err.Error(), tc.refusal) {
					t.Fatalf("error %v; want the change refused saying %q", err, tc.refusal)
				}
				if p.Phase != workflows.PhaseRejected || len(h.enabled) != 0 {
					t.Errorf("a refused change ended %s and enabled %v", p.Phase, h.enabled)
				}
				return
			}
			if err != nil || p.Phase != workflows.PhaseSucceeded || len(h.enabled) != 1 {
				t.Fatalf("phase %s, err %v, enabled %v; want approved by %v and enabled", p.Phase, err, h.enabled, tc.approve)
			}
			if got := recordOf(p, "policy"); !strings.Contains(got, tc.policy) {
				t.Errorf("the record says of the policy %q; want %q", got, tc.policy)
			}
		})
	}
}

// Waves are numbered from one, as people name them when they approve and
// as status shows them; the record says which wave starts and why the
// change was requested.
func TestWavesAreNumberedFromOneAndTheRecordSaysWhy(t *testing.T) {
	h := newChangeHarness(t)
	in := changeInput("acme-prod", "acme-staging", "globex")
	in.Reason = "org-wide audit logging"
	h.approveAt(time.Hour, "alice", "bob")
	h.at(90*time.Minute, func() {
		if aw := h.progress().Awaiting; aw == nil || aw.What != "2 approval(s) of wave 2" {
			t.Errorf("after wave 1 the change awaits %+v; want 2 approvals of wave 2", aw)
		}
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice"), Wave: 2})
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("bob"), Wave: 2})
	})
	p := h.runTo(in, workflows.PhaseSucceeded)
	if len(p.Waves) != 2 || p.Waves[0].Number != 1 || p.Waves[1].Number != 2 {
		t.Errorf("waves %+v; want waves 1 and 2", p.Waves)
	}
	for _, want := range []struct {
		org  string
		wave int
	}{{"acme-prod", 1}, {"acme-staging", 2}, {"globex", 2}} {
		for _, tg := range p.Targets {
			if tg.Organization == want.org && tg.Wave != want.wave {
				t.Errorf("%s is in wave %d; want %d", want.org, tg.Wave, want.wave)
			}
		}
	}
	waves := recordOf(p, "wave")
	for _, want := range []string{"wave 1 of 2 starts: acme-prod", "wave 2 of 2 starts: acme-staging, globex"} {
		if !strings.Contains(waves, want) {
			t.Errorf("the record of waves lacks %q:\n%s", want, waves)
		}
	}
	if got := recordOf(p, "requested"); !strings.HasSuffix(got, "on 3 organization(s) in 2 wave(s): org-wide audit logging") {
		t.Errorf("the request is recorded as %q; want its organizations, waves and reason", got)
	}
}

// A change where some organizations already have trusted access and the
// others get it has succeeded: nothing failed, nothing was left undone.
func TestChangeWithSomeOrganizationsAlreadyEnabledSucceeds(t *testing.T) {
	h := newChangeHarness(t)
	enabled := offState()
	enabled.TrustedAccess, enabled.ServiceLinkedRole = true, true
	h.stateOf = map[string]workflows.State{"globex": enabled}
	in := changeInput("acme-prod", "globex")
	in.Waves = nil
	h.approveAt(time.Hour, "alice", "bob")
	p := h.runTo(in, workflows.PhaseSucceeded)
	phases := map[string]workflows.Phase{}
	for _, tg := range p.Targets {
		phases[tg.Organization] = tg.Phase
	}
	if phases["acme-prod"] != workflows.PhaseSucceeded || phases["globex"] != workflows.PhaseNoChange || len(h.enabled) != 1 {
		t.Errorf("phases %v, enabled %v; want acme-prod enabled and globex left as it was", phases, h.enabled)
	}
	if !p.Phase.Successful() || !workflows.PhaseNoChange.Successful() || !workflows.PhaseRolledBack.Successful() {
		t.Error("a change that did what was asked, or found it done, or rolled back, does not read as successful")
	}
	for _, ph := range []workflows.Phase{workflows.PhaseFailed, workflows.PhaseHalted, workflows.PhaseRejected, workflows.PhaseExpired, workflows.PhaseCancelled, workflows.PhaseTerminated} {
		if ph.Successful() {
			t.Errorf("a change that ended %s reads as successful", ph)
		}
	}
}
