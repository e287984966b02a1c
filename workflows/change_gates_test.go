package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/trailgate/trailgate/workflows"
)

const (
	aliceARN = "arn:aws:iam::111122223333:user/alice"
	bobARN   = "arn:aws:sts::111122223333:assumed-role/Approvers_x/bob"
	carolARN = "arn:aws:iam::111122223333:user/carol"
	daveARN  = "arn:aws:iam::111122223333:user/dave"
	erinARN  = "arn:aws:iam::111122223333:user/erin"
	eveARN   = "arn:aws:iam::999999999999:user/eve"
)

// signer makes proofs for the proof harness, as the CLI would with each
// person's credentials.
type signer struct {
	signed map[string]string
	n      int
}

// sign returns a proof made by arn for the binding, and its nonce.
func (s *signer) sign(arn string, binding func(nonce string) workflows.Binding) workflows.Who {
	s.n++
	sealed, nonce := fmt.Sprintf("proof-%d", s.n), fmt.Sprintf("nonce-%d", s.n)
	s.signed[sealed] = arn + " " + binding(nonce).String()
	return workflows.Who{Proof: sealed, Nonce: nonce}
}

func (s *signer) decision(arn string, kind workflows.DecisionKind, wave int) workflows.Decision {
	d := workflows.Decision{Wave: wave}
	d.Who = s.sign(arn, func(nonce string) workflows.Binding {
		d.Nonce = nonce
		return d.Binding("chg-1", kind)
	})
	return d
}

func (s *signer) control(arn string, kind workflows.DecisionKind) workflows.Control {
	var c workflows.Control
	c.Who = s.sign(arn, func(nonce string) workflows.Binding {
		c.Nonce = nonce
		return c.Binding("chg-1", kind)
	})
	return c
}

// provenChange is a change of acme-prod requested by dave with a proof,
// under a policy of proofs only.
func provenChange(t *testing.T) (*changeHarness, *signer, workflows.ChangeInput) {
	h, signed := proofHarness(t)
	h.policy.People = append(h.policy.People,
		workflows.PolicyPerson{Name: "carol", Principals: []string{carolARN}},
		workflows.PolicyPerson{Name: "erin", Principals: []string{erinARN}})
	s := &signer{signed: signed}
	in := one(workflows.ActionEnable)
	in.Requester = s.sign(daveARN, func(nonce string) workflows.Binding {
		in.Requester.Nonce = nonce
		return in.Binding()
	})
	return h, s, in
}

// A refused attempt is recorded with its signer when STS verified one, and
// with nobody when the proof proves no one; past fifty refusals a change
// records no more, so that whoever can reach Temporal cannot grow its
// history at will.
func TestRefusedAttemptsNameTheirSignerUpToFifty(t *testing.T) {
	h, s, in := provenChange(t)
	var replayed error
	eve := make([]error, 60)
	h.at(time.Hour, func() {
		alice := s.decision(aliceARN, workflows.DecisionApprove, 1)
		h.mustUpdate(workflows.UpdateApprove, alice)
		h.update(workflows.UpdateApprove, alice, &replayed)
		for i := range eve {
			h.update(workflows.UpdateApprove, s.decision(eveARN, workflows.DecisionApprove, 1), &eve[i])
		}
		h.mustUpdate(workflows.UpdateApprove, s.decision(bobARN, workflows.DecisionApprove, 1))
	})
	p := h.runTo(in, workflows.PhaseSucceeded)
	wantIn(t, replayed, "already used")
	for _, err := range eve {
		wantIn(t, err, eveARN+" is not mapped to any person")
	}
	refused := refusals(p)
	if len(refused) != 50 {
		t.Fatalf("%d refused attempts recorded; want the first 50", len(refused))
	}
	if len(refused[0].Identities) != 0 || !strings.Contains(refused[0].Detail, "already used") {
		t.Errorf("the replayed proof is recorded as %+v; want it refused, naming nobody", refused[0])
	}
	if ids := refused[1].Identities; len(ids) != 1 || ids[0].ARN != eveARN {
		t.Errorf("eve's attempt is recorded with %+v; want her verified ARN", ids)
	}
}

// A proven person may only do what the policy lets them: erin, neither an
// approver nor a CloudTrail administrator nor the requester, can neither
// reject nor steer the change.
func TestProvenPeopleDoOnlyWhatThePolicyLetsThem(t *testing.T) {
	h, s, in := provenChange(t)
	var reject, pause error
	h.at(time.Hour, func() {
		h.update(workflows.UpdateReject, s.decision(erinARN, workflows.DecisionReject, 1), &reject)
		h.update(workflows.UpdatePause, s.control(erinARN, workflows.DecisionPause), &pause)
		h.mustUpdate(workflows.UpdateApprove, s.decision(aliceARN, workflows.DecisionApprove, 1))
		h.mustUpdate(workflows.UpdateApprove, s.decision(bobARN, workflows.DecisionApprove, 1))
	})
	p, err := h.run(in)
	if err != nil || p.Phase != workflows.PhaseSucceeded || len(h.enabled) != 1 {
		t.Fatalf("phase %s, err %v, enabled %v; want erin's decisions refused and the change approved", p.Phase, err, h.enabled)
	}
	wantIn(t, reject, "erin may not reject this change")
	wantIn(t, pause, "erin may not steer change chg-1")
}

// A decision that is wrong whoever sends it, or a claimed name the policy
// refuses, is refused before it reaches the change: the record shows no
// trace of it.
func TestRefusedClaimsLeaveNoTrace(t *testing.T) {
	h, _ := disableHarness(t)
	var reject, otherWave, confirm, pause, cancel error
	h.at(time.Hour, func() {
		h.update(workflows.UpdateReject, workflows.Decision{Who: as("mallory")}, &reject)
		h.update(workflows.UpdateReject, workflows.Decision{Who: as("alice"), Wave: 2}, &otherWave)
		h.update(workflows.UpdateConfirmCleanup, workflows.CleanupConfirmation{Who: as("alice")}, &confirm)
		h.update(workflows.UpdatePause, workflows.Control{Who: as("mallory")}, &pause)
		h.update(workflows.UpdateCancel, workflows.Control{Who: as("carol")}, &cancel)
		h.mustUpdate(workflows.UpdateReject, workflows.Decision{Who: as("carol"), Comment: "trails still in use"})
	})
	p := h.runTo(one(workflows.ActionDisable), workflows.PhaseRejected)
	wantIn(t, reject, "mallory may not reject this change")
	wantIn(t, otherWave, "is at wave 1, not wave 2")
	wantIn(t, confirm, "alice is not a CloudTrail administrator")
	wantIn(t, pause, "mallory may not steer change chg-1")
	wantIn(t, cancel, "carol may not steer change chg-1")
	if refused := refusals(p); len(refused) != 0 {
		t.Errorf("claims refused before they reached the change are recorded: %+v", refused)
	}
	if got := recordOf(p, "rejected"); !strings.HasSuffix(got, "wave 1 rejected by carol (claimed, not verified): trails still in use") {
		t.Errorf("the rejection is recorded as %q; want who rejected, and why", got)
	}
}

// Only a waiting gate can be rejected: once a wave is approved and waits for
// its maintenance window, a rejection is refused and the change goes on.
func TestAnApprovedWaveCannotBeRejected(t *testing.T) {
	h := newChangeHarness(t)
	h.env.SetStartTime(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	in := one(workflows.ActionEnable)
	w, err := workflows.ParseWindow("02:00+2h")
	if err != nil {
		t.Fatal(err)
	}
	in.Windows = []workflows.MaintenanceWindow{w}
	h.approveAt(time.Hour, "alice", "bob")
	var late error
	h.at(2*time.Hour, func() {
		h.update(workflows.UpdateReject, workflows.Decision{Who: as("alice")}, &late)
	})
	p, err := h.run(in)
	if err != nil || p.Phase != workflows.PhaseSucceeded || len(h.enabled) != 1 {
		t.Fatalf("phase %s, err %v, enabled %v; want the approved change to go on", p.Phase, err, h.enabled)
	}
	wantIn(t, late, "is awaiting-window: only a waiting gate can be rejected")
}

// The approval that completes a gate answers with the change no longer
// awaiting it, which is what the CLI shows the approver.
func TestTheLastApprovalAnswersWithNothingAwaited(t *testing.T) {
	h := newChangeHarness(t)
	var after workflows.ChangeProgress
	h.at(time.Hour, func() {
		h.mustUpdate(workflows.UpdateApprove, workflows.Decision{Who: as("alice")})
		h.env.UpdateWorkflow(workflows.UpdateApprove, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("bob's approval refused: %v", err) },
			OnComplete: func(res any, err error) {
				p, ok := res.(workflows.ChangeProgress)
				if err != nil || !ok {
					t.Errorf("bob's approval answered %T, %v", res, err)
				}
				after = p
			},
		}, workflows.Decision{Who: as("bob")})
	})
	if p, err := h.run(one(workflows.ActionEnable)); err != nil || p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("phase %s, err %v", p.Phase, err)
	}
	if len(after.Waves) != 1 || len(after.Waves[0].Approvals) != 2 || after.Awaiting != nil {
		t.Errorf("the last approval answered with approvals %+v, awaiting %+v; want both approvals and nothing awaited", after.Waves, after.Awaiting)
	}
}

// Approvals that arrive together are taken until the gate has enough; one
// whose proof is verified after the gate passed is refused as too late and
// recorded, and the wave keeps the approvals it went on with.
func TestAnApprovalAfterTheGatePassedIsTooLate(t *testing.T) {
	h, s, in := provenChange(t)
	h.policy.Approvers = []string{"alice", "bob", "erin"}
	errs := make([]error, 3)
	h.at(time.Hour, func() {
		for i, arn := range []string{aliceARN, bobARN, erinARN} {
			h.update(workflows.UpdateApprove, s.decision(arn, workflows.DecisionApprove, 1), &errs[i])
		}
	})
	p := h.runTo(in, workflows.PhaseSucceeded)
	// Their proofs are verified at once, so which of the three comes last
	// is not fixed: exactly one is too late.
	late := -1
	for i, err := range errs {
		if err != nil {
			if late >= 0 {
				t.Fatalf("more than one approval refused: %v", errs)
			}
			late = i
		}
	}
	if late < 0 {
		t.Fatalf("three approvals taken where two were needed")
	}
	// Verified after the gate passed, it finds the change at its next step
	// or already ended: refused either way, saying which.
	if msg := errs[late].Error(); !strings.Contains(msg, "the approval came too late") && !strings.Contains(msg, "has ended") {
		t.Errorf("the late approval was refused with %q; want it to say it came too late", msg)
	}
	if approvals := p.Waves[0].Approvals; len(approvals) != 2 {
		t.Errorf("wave 1 went on with %d approvals recorded; want the 2 it needed", len(approvals))
	}
	if refused := refusals(p); len(refused) != 1 || refused[0].People[0] != []string{"alice", "bob", "erin"}[late] {
		t.Errorf("refusals recorded %+v; want the late approval", refused)
	}
}

// A proof made to confirm cleanup of one organization confirms only that
// organization: sent for another, it is refused.
func TestCleanupProofIsForItsOrganizationOnly(t *testing.T) {
	h, s, in := provenChange(t)
	on := offState()
	on.TrustedAccess, on.ServiceLinkedRole = true, true
	h.stateOf = map[string]workflows.State{"acme-prod": on, "globex": on}
	h.on(acts.TakeInventory).Return(workflows.Inventory{}, nil)
	h.policy.Timeout = 2 * time.Hour
	in.Action, in.Organizations = workflows.ActionDisable, []string{"acme-prod", "globex"}
	in.Requester = s.sign(daveARN, func(nonce string) workflows.Binding {
		in.Requester.Nonce = nonce
		return in.Binding()
	})
	var elsewhere, here error
	h.at(time.Hour, func() {
		cc := workflows.CleanupConfirmation{Organization: "acme-prod"}
		cc.Who = s.sign(carolARN, func(nonce string) workflows.Binding {
			cc.Nonce = nonce
			return cc.Binding("chg-1")
		})
		moved := cc
		moved.Organization = "globex"
		h.update(workflows.UpdateConfirmCleanup, moved, &elsewhere)
		cc.Who = s.sign(carolARN, func(nonce string) workflows.Binding {
			cc.Nonce = nonce
			return cc.Binding("chg-1")
		})
		h.update(workflows.UpdateConfirmCleanup, cc, &here)
	})
	p, err := h.run(in)
	if p.Phase != workflows.PhaseExpired {
		t.Fatalf("phase %s, err %v; want the change expired at its gate", p.Phase, err)
	}
	wantIn(t, elsewhere, `the proof was made for organization "acme-prod", not "globex"`)
	if here != nil {
		t.Errorf("carol's confirmation for acme-prod refused: %v", here)
	}
	if got := recordOf(p, "cleanup-confirmed"); !strings.HasPrefix(got, "for acme-prod by carol") {
		t.Errorf("the record of confirmations is %q; want carol's for acme-prod only", got)
	}
}

// In a person's principal, * stands for any run of characters, the empty
// run included.
func TestPrincipalWildcardsMatchEmptyRuns(t *testing.T) {
	pattern := "arn:aws:sts::111122223333:assumed-role/*Approvers*/*"
	for arn, want := range map[string]bool{
		"arn:aws:sts::111122223333:assumed-role/Approvers/bob":                     true,
		"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_0a1b/bob": true,
		"arn:aws:sts::111122223333:assumed-role/Admins/bob":                        false,
	} {
		if got := workflows.PrincipalMatches(pattern, arn); got != want {
			t.Errorf("%q matches %q: %t, want %t", pattern, arn, got, want)
		}
	}
}
