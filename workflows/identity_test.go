package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

func TestBindingsRoundTripAndNameWhatDiffers(t *testing.T) {
	d := workflows.Decision{Comment: "looks right", Wave: 2, Who: workflows.Who{Nonce: "n1"}}
	b := d.Binding("chg-1", workflows.DecisionApprove)
	got, err := workflows.ParseBinding(b.String())
	if err != nil || got != b {
		t.Fatalf("ParseBinding(%q) = %+v, %v; want %+v", b.String(), got, err, b)
	}
	other := d
	other.Comment = "looks wrong"
	if other.Binding("chg-1", workflows.DecisionApprove) == b {
		t.Error("the comment is not bound")
	}
	if d.Binding("chg-1", workflows.DecisionReject) == b || d.Binding("chg-2", workflows.DecisionApprove) == b {
		t.Error("the decision or the change is not bound")
	}
	in := changeInput("acme-prod")
	in.Requester.Nonce = "n2"
	req := in.Binding()
	in.Organizations = append(in.Organizations, "globex")
	if in.Binding() == req {
		t.Error("a request's organizations are not bound")
	}
	in.Organizations = in.Organizations[:1]
	in.Requester.Proof = "sealed"
	if in.Binding() != req {
		t.Error("a request's binding depends on its own proof")
	}
	for _, bad := range []string{"", "trailgate/v1 change=x", "other/v1 change=a decision=b wave=0 org=- digest=d nonce=n", "trailgate/v1 change=a decision=b wave=x org=- digest=d nonce=n"} {
		if _, err := workflows.ParseBinding(bad); err == nil {
			t.Errorf("ParseBinding(%q) accepted", bad)
		}
	}
}

func TestPrincipalPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern, arn string
		want         bool
	}{
		{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alicia", false},
		{"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_*/*", "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_0a1b2c/alice@example.com", true},
		{"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_*/*", "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admins_0a1b2c/alice", false},
		{"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_*/*", "arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_Approvers_0a1b2c/alice", false},
		{"arn:aws:iam::111122223333:user/*", "arn:aws:iam::111122223333:user/bob", true},
		{"arn:aws:iam::111122223333:user/a*e", "arn:aws:iam::111122223333:user/alice", true},
		{"arn:aws:iam::111122223333:user/a*e", "arn:aws:iam::111122223333:user/alicia", false},
	} {
		if got := workflows.PrincipalMatches(tc.pattern, tc.arn); got != tc.want {
			t.Errorf("%q matches %q: %t, want %t", tc.pattern, tc.arn, got, tc.want)
		}
	}
}

// A worker that does not allow claims refuses a decision without a proof in
// its validator: nothing reaches the change, not even its record.
func TestDecisionsWithoutProofAreRefusedWhereClaimsAreNotAllowed(t *testing.T) {
	h := newChangeHarness(t)
	h.policy.AllowClaims = false
	h.policy.People = []workflows.PolicyPerson{{Name: "dave", Principals: []string{"arn:aws:iam::111122223333:user/dave"}}}
	p, err := h.run(one(workflows.ActionEnable))
	wantIn(t, err, "no proof of identity")
	if p.Phase != workflows.PhaseRejected || len(h.enabled) != 0 || len(p.Targets) != 0 {
		t.Errorf("an unproven request went on: phase %s, targets %v, enabled %v", p.Phase, p.Targets, h.enabled)
	}
}

// proofHarness answers the VerifyProof local activity as STS would for a
// proof made by arn, for the binding it was made for.
func proofHarness(t *testing.T) (*changeHarness, map[string]string) {
	h := newChangeHarness(t)
	h.policy.AllowClaims = false
	h.policy.Approvers = []string{"alice", "bob"}
	h.policy.People = []workflows.PolicyPerson{
		{Name: "alice", Principals: []string{"arn:aws:iam::111122223333:user/alice"}},
		{Name: "bob", Principals: []string{"arn:aws:sts::111122223333:assumed-role/Approvers_*/*"}},
		{Name: "dave", Principals: []string{"arn:aws:iam::111122223333:user/dave"}},
	}
	// signed maps a sealed proof to "<arn> <binding>", as the worker would
	// find it after opening the proof and asking STS.
	signed := map[string]string{}
	h.on(acts.VerifyProof).Return(func(_ context.Context, in activities.ProofInput) (activities.ProofResult, error) {
		arn, binding, _ := strings.Cut(signed[in.Sealed], " ")
		if binding != in.Binding {
			return activities.ProofResult{Binding: binding}, nil
		}
		return activities.ProofResult{Binding: binding, ARN: arn}, nil
	})
	return h, signed
}

func TestProofsMapToPeopleAndWorkOnceForTheirDecision(t *testing.T) {
	h, signed := proofHarness(t)
	in := one(workflows.ActionEnable)
	in.Requester = workflows.Who{Proof: "dave-request", Nonce: "r1"}
	signed["dave-request"] = "arn:aws:iam::111122223333:user/dave " + in.Binding().String()
	proven := func(sealed, arn, nonce string, wave int) workflows.Decision {
		d := workflows.Decision{Who: workflows.Who{Proof: sealed, Nonce: nonce}, Wave: wave}
		signed[sealed] = arn + " " + d.Binding("chg-1", workflows.DecisionApprove).String()
		return d
	}
	alice := proven("alice-1", "arn:aws:iam::111122223333:user/alice", "a1", 1)
	stranger := proven("eve-1", "arn:aws:iam::999999999999:user/eve", "e1", 1)
	otherWave := proven("bob-2", "arn:aws:sts::111122223333:assumed-role/Approvers_x/bob", "b2", 2)
	otherWave.Wave = 1 // sent for wave 1, made for wave 2
	claimsAlice := proven("bob-3", "arn:aws:sts::111122223333:assumed-role/Approvers_x/bob", "b3", 1)
	claimsAlice.By = "alice"
	bob := proven("bob-1", "arn:aws:sts::111122223333:assumed-role/Approvers_x/bob", "b1", 1)
	var replayed, unmapped, wrongWave, impersonated, claim error
	h.at(time.Hour, func() {
		h.mustUpdate(workflows.UpdateApprove, alice)
		h.update(workflows.UpdateApprove, alice, &replayed)
		h.update(workflows.UpdateApprove, stranger, &unmapped)
		h.update(workflows.UpdateApprove, otherWave, &wrongWave)
		h.update(workflows.UpdateApprove, claimsAlice, &impersonated)
		h.update(workflows.UpdateApprove, workflows.Decision{Who: as("bob"), Wave: 1}, &claim)
	})
	h.at(90*time.Minute, func() {
		if p := h.progress(); len(p.Waves[0].Approvals) != 1 || p.Phase != workflows.PhaseAwaitingApproval {
			t.Errorf("refused proofs changed the gate: %s %+v", p.Phase, p.Waves[0].Approvals)
		}
		h.mustUpdate(workflows.UpdateApprove, bob)
	})
	p := h.runTo(in, workflows.PhaseSucceeded)
	wantIn(t, replayed, "already used")
	wantIn(t, unmapped, "arn:aws:iam::999999999999:user/eve is not mapped to any person")
	wantIn(t, wrongWave, "made for wave 2, not wave 1")
	wantIn(t, impersonated, "the proof is bob's")
	wantIn(t, claim, "no proof of identity")
	if p.RequestedBy.By != "dave" || p.RequestedBy.ARN != "arn:aws:iam::111122223333:user/dave" {
		t.Errorf("requested by %+v", p.RequestedBy)
	}
	approvals := p.Waves[0].Approvals
	if len(approvals) != 2 || approvals[0].ARN != "arn:aws:iam::111122223333:user/alice" || approvals[1].By != "bob" || approvals[0].Proof != "" {
		t.Errorf("approvals %+v", approvals)
	}
	if refused := len(refusals(p)); refused != 4 {
		t.Errorf("%d refused attempts recorded, want 4 (the validator refuses the claim without a trace)", refused)
	}
}
