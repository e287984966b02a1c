package workflows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

// The tests of this file follow one organization's procedure as it makes
// its AWS calls since versionFewerCalls: a survey, the plan's mutations
// in one activity, and one confirmation.

// fewer answers the survey with st, and applies every mutation asked with
// one AWS request each; failAt, when set, fails that mutation with err
// after those before it. changed, when set, is what AWS shows instead of
// what the plan was made from, at the first attempt to apply it.
type fewer struct {
	h         *harness
	changed   *workflows.State
	earlier   []activities.Call
	asked     []activities.ApplyInput
	confirmed []activities.ConfirmInput
}

func newFewer(t *testing.T, st workflows.State, failAt activities.MutationKind, err error) *fewer {
	f := &fewer{h: newHarnessOf(t)}
	f.h.on(acts.SurveyOrganization).Return(activities.Survey{
		Identity: activities.Identity{AccountID: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/TrailgateOperator/trailgate",
			OrganizationID: "o-abc123", ManagementAccountID: "111111111111", FeatureSet: "ALL"},
		State: st,
	}, nil)
	f.h.on(acts.ApplyMutations).Return(func(_ context.Context, in activities.ApplyInput) (activities.ApplyResult, error) {
		f.asked = append(f.asked, in)
		if f.changed != nil && len(f.asked) == 1 {
			return activities.ApplyResult{Changed: f.changed}, nil
		}
		var applied []activities.Applied
		for i, k := range in.Mutations {
			if k == failAt {
				return activities.ApplyResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "AccessDenied", err,
					activities.ApplyResult{Applied: applied, Failed: k})
			}
			done := activities.Applied{Kind: k, Mutation: activities.Mutation{Calls: []activities.Call{{Operation: string(k), RequestID: "req-" + string(rune('a'+i))}}}}
			if k == activities.MutateOrganizationTrail {
				done.Trail = &workflows.TrailState{ARN: trailARN, IsOrganizationTrail: true, IsLogging: true}
			}
			applied = append(applied, done)
		}
		return activities.ApplyResult{Applied: applied, Earlier: f.earlier}, nil
	})
	f.h.on(acts.ConfirmChange).Return(func(_ context.Context, in activities.ConfirmInput) (activities.Confirmation, error) {
		f.confirmed = append(f.confirmed, in)
		return activities.Confirmation{
			Evidence:    workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true, Checks: 1, Trails: []workflows.TrailState{{ARN: trailARN, IsLogging: true}}},
			EventsError: "LookupEvents answered ThrottlingException",
		}, nil
	})
	f.h.approveAt(time.Hour, "alice", "bob")
	return f
}

// mutations are the mutations asked of each ApplyMutations.
func (f *fewer) mutations() [][]activities.MutationKind {
	var out [][]activities.MutationKind
	for _, in := range f.asked {
		out = append(out, in.Mutations)
	}
	return out
}

// recorded are the details of a target's record entries of a kind.
func recorded(tp workflows.TargetProgress, kind workflows.RecordKind) []string {
	var out []string
	for _, e := range tp.Record {
		if e.Kind == kind {
			out = append(out, e.Detail)
		}
	}
	return out
}

func TestAnOrganizationMakesItsPlanInOneActivityAndConfirmsItInOne(t *testing.T) {
	f := newFewer(t, offState(), "", nil)
	p, err := f.h.run(one(workflows.ActionEnable))
	if err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded || p.Targets[0].Evidence == nil {
		t.Fatalf("phase %s, evidence %+v", p.Phase, p.Targets[0].Evidence)
	}
	want := []activities.MutationKind{activities.MutateEnableTrustedAccess, activities.MutateCreateRole, activities.MutateBucketPolicy, activities.MutateOrganizationTrail}
	if m := f.mutations(); len(m) != 1 || !slices.Equal(m[0], want) || f.asked[0].Expect == nil || f.asked[0].Expect.OrganizationID != "o-abc123" {
		t.Errorf("asked: %+v, want one activity of %v that expects what the survey read", f.asked, want)
	}
	if f.h.calls["preflight"] != 0 {
		t.Errorf("Preflight was called %d time(s) besides the survey", f.h.calls["preflight"])
	}
	// The confirmation reads back the trail the mutations left logging,
	// and looks up every request they made.
	if len(f.confirmed) != 1 || !slices.Equal(f.confirmed[0].TrailARNs, []string{trailARN}) || len(f.confirmed[0].Calls) != 4 || f.confirmed[0].Disable {
		t.Errorf("confirmation asked: %+v", f.confirmed)
	}
	tp := f.h.target("acme-prod")
	mutations := recorded(tp, workflows.RecordMutation)
	if len(mutations) != 4 || !strings.HasPrefix(mutations[0], "Enable trusted access for cloudtrail.amazonaws.com (AWS request enable-trusted-access req-a)") ||
		!strings.HasPrefix(mutations[3], "Organization trail org-trail created and logging") {
		t.Errorf("mutations recorded: %q", mutations)
	}
	if !strings.Contains(entry(tp, workflows.RecordPreflight), "management account 111111111111 of o-abc123") ||
		entry(tp, workflows.RecordRecheck) != "right before acting, AWS still matches what was approved" ||
		!strings.Contains(entry(tp, workflows.RecordVerified), "after 1 read(s)") ||
		entry(tp, workflows.RecordEvents) != "CloudTrail events not linked: LookupEvents answered ThrottlingException" {
		t.Errorf("record: %+v", tp.Record)
	}
}

func TestMutationsMadeBeforeOneFailedAreRecorded(t *testing.T) {
	f := newFewer(t, offState(), activities.MutateBucketPolicy, errors.New("s3:PutBucketPolicy answered AccessDenied"))
	p, _ := f.h.run(one(workflows.ActionEnable))
	if p.Targets[0].Phase != workflows.PhaseFailed || !strings.Contains(p.Targets[0].Error, "AccessDenied") {
		t.Fatalf("target: %+v", p.Targets[0])
	}
	if len(f.confirmed) != 0 {
		t.Errorf("a failed plan was confirmed: %+v", f.confirmed)
	}
	mutations := recorded(f.h.target("acme-prod"), workflows.RecordMutation)
	if len(mutations) != 2 || !strings.Contains(mutations[1], "create-service-linked-role req-b") {
		t.Errorf("the mutations made before the failure are not all in the record: %q", mutations)
	}
}

func TestARollbackReEnablesInOneActivity(t *testing.T) {
	f := newFewer(t, roleOnly(), "", nil)
	f.h.on(acts.TakeInventory).Return(workflows.Inventory{}, nil)
	f.h.on(acts.ReadState).Return(roleOnly(), nil)
	p, err := f.h.run(one(workflows.ActionRollback))
	if err != nil {
		t.Fatal(err)
	}
	if p.Targets[0].Phase != workflows.PhaseRolledBack {
		t.Fatalf("target %+v", p.Targets[0])
	}
	if m := f.mutations(); len(m) != 1 || !slices.Equal(m[0], []activities.MutationKind{activities.MutateEnableTrustedAccess}) {
		t.Errorf("mutations asked: %v", m)
	}
	if m := entry(f.h.target("acme-prod"), workflows.RecordMutation); !strings.HasPrefix(m, "Re-enable trusted access") {
		t.Errorf("the rollback's mutation is recorded as %q", m)
	}
}

// When AWS no longer shows what the plan was made from, nothing is made:
// steps done by hand meanwhile leave the rest to make, and new steps take
// the plan back to approval.
func TestAPlanAWSNoLongerMatchesIsMadeOnlyAfterTheRecheck(t *testing.T) {
	t.Run("steps done by hand", func(t *testing.T) {
		f := newFewer(t, offState(), "", nil)
		byHand := offState()
		byHand.TrustedAccess = true
		f.changed = &byHand
		p, err := f.h.run(one(workflows.ActionEnable))
		if err != nil || p.Targets[0].Phase != workflows.PhaseSucceeded {
			t.Fatalf("target %+v, %v", p.Targets[0], err)
		}
		m := f.mutations()
		if len(m) != 2 || len(m[1]) != 3 || slices.Contains(m[1], activities.MutateEnableTrustedAccess) || f.asked[1].Expect == nil || !f.asked[1].Expect.TrustedAccess {
			t.Errorf("asked %+v; want the plan without trusted access, expecting what the recheck read", f.asked)
		}
		rechecks := recorded(f.h.target("acme-prod"), workflows.RecordRecheck)
		if len(rechecks) != 2 || !strings.Contains(rechecks[0], "some steps done by hand (enable trusted access") {
			t.Errorf("rechecks recorded: %q", rechecks)
		}
	})
	t.Run("new steps", func(t *testing.T) {
		f := newFewer(t, roleOnly(), "", nil)
		f.changed = new(offState())
		f.h.approveAt(3*time.Hour, "alice", "bob")
		p, err := f.h.run(one(workflows.ActionEnable))
		if err != nil || p.Targets[0].Phase != workflows.PhaseSucceeded {
			t.Fatalf("target %+v, %v", p.Targets[0], err)
		}
		m := f.mutations()
		if len(m) != 2 || !slices.Contains(m[1], activities.MutateCreateRole) {
			t.Errorf("asked %v; want the role created only in the plan approved again", m)
		}
		if r := recorded(f.h.target("acme-prod"), workflows.RecordRecheck); len(r) != 2 || !strings.Contains(r[0], "the plan needs approval again") {
			t.Errorf("rechecks recorded: %q", r)
		}
	})
}

// The calls of an attempt cut short, which the attempt that took over
// found in CloudTrail, are recorded, and confirmed with the others.
func TestTheCallsOfAnAttemptCutShortAreRecorded(t *testing.T) {
	f := newFewer(t, offState(), "", nil)
	f.earlier = []activities.Call{{Operation: "CreateServiceLinkedRole", Service: "iam.amazonaws.com", RequestID: "req-cut-short"}}
	if _, err := f.h.run(one(workflows.ActionEnable)); err != nil {
		t.Fatal(err)
	}
	m := recorded(f.h.target("acme-prod"), workflows.RecordMutation)
	if len(m) != 5 || m[0] != "Made by an attempt cut short, as CloudTrail shows it (AWS request CreateServiceLinkedRole req-cut-short)" {
		t.Errorf("mutations recorded: %q", m)
	}
	if len(f.confirmed) != 1 || len(f.confirmed[0].Calls) != 5 {
		t.Errorf("confirmation asked: %+v; want the earlier attempt's call looked up too", f.confirmed)
	}
	if f.asked[0].Since.IsZero() {
		t.Errorf("the plan was asked without when it was released: %+v", f.asked[0])
	}
}
