package workflows

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// Since versionFewerCalls an organization's workflow makes the mutations of
// its plan in one activity, and confirms them in one more.

// enableApproved makes an approved enable plan and verifies it. The
// activity that makes it reads AWS right before, and makes nothing when
// AWS no longer shows what the plan was made from: the recheck then
// decides what happens, as it did after a read of its own before
// versionFewerCalls.
func (t *target) enableApproved(ctx workflow.Context, org activities.OrgInput, cur State, plan Plan, replan replanner) error {
	for {
		t.setPhase(ctx, PhaseApplying)
		trailARNs, changed, err := t.applyEnable(ctx, org, cur, plan)
		if err != nil {
			return err
		}
		if changed == nil {
			return t.verify(ctx, a.VerifyEnabled, activities.VerifyInput{OrgInput: org, TrailARNs: trailARNs, DelegatedAdministrators: org.Trail.DelegatedAdministrators}, PhaseSucceeded)
		}
		var done bool
		if plan, cur, done, err = t.recheckFrom(ctx, org, plan, replan, false, changed); done || err != nil {
			return err
		}
	}
}

// applyEnable makes an enable plan's mutations, if AWS still shows cur,
// and returns the ARNs of the trails to verify, or what AWS shows instead.
func (t *target) applyEnable(ctx workflow.Context, org activities.OrgInput, cur State, plan Plan) ([]string, *State, error) {
	var kinds []activities.MutationKind
	for _, m := range []struct {
		step string
		kind activities.MutationKind
	}{
		{StepEnableTrustedAccess, activities.MutateEnableTrustedAccess},
		{StepCreateRole, activities.MutateCreateRole},
		{StepRegisterAdmins, activities.MutateRegisterAdmins},
	} {
		if plan.Has(m.step) {
			kinds = append(kinds, m.kind)
		}
	}
	var trailARNs []string
	if org.Trail.Name != "" {
		if plan.Has(StepBucketPolicy) {
			kinds = append(kinds, activities.MutateBucketPolicy)
		}
		if plan.Has(StepCreateTrail) || plan.Has(StepConvertTrail) || plan.Has(StepStartLogging) {
			kinds = append(kinds, activities.MutateOrganizationTrail)
		}
		if cur.Trail != nil {
			trailARNs = []string{cur.Trail.ARN}
		}
	}
	res, err := t.apply(ctx, activities.ApplyInput{
		TrailInput: activities.TrailInput{OrgInput: org, OrganizationID: cur.OrganizationID},
		Mutations:  kinds,
		Expect:     &cur,
		Since:      workflow.Now(ctx),
	})
	for _, done := range res.Applied {
		if done.Trail != nil {
			trailARNs = []string{done.Trail.ARN}
		}
	}
	return trailARNs, res.Changed, err
}

// apply makes mutations in one activity and records each one made, also
// those made before one failed. With in.Expect set, it records that AWS
// still showed it, or returns, with nothing made, what AWS shows instead.
func (t *target) apply(ctx workflow.Context, in activities.ApplyInput) (activities.ApplyResult, error) {
	var res activities.ApplyResult
	if len(in.Mutations) == 0 && in.Expect == nil {
		return res, nil
	}
	summaries := make([]string, 0, len(in.Mutations)+1)
	if in.Expect != nil {
		summaries = append(summaries, "Read "+in.Organization+" again before acting")
	}
	for _, k := range in.Mutations {
		summaries = append(summaries, t.mutationSummary(k, in.OrgInput))
	}
	summary := strings.Join(summaries, "; ")
	err := workflow.ExecuteActivity(t.callOptions(ctx, summary), a.ApplyMutations, in).Get(ctx, &res)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			_ = appErr.Details(&res)
		}
		// The error names the step that failed, not all of them.
		switch {
		case res.Failed == activities.ReadAgain:
			summary = summaries[0]
		case res.Failed != "":
			summary = t.mutationSummary(res.Failed, in.OrgInput)
		}
	}
	if res.Changed != nil {
		return res, nil
	}
	if in.Expect != nil && (err == nil || (res.Failed != "" && res.Failed != activities.ReadAgain)) {
		t.record(ctx, RecordRecheck, nil, stillMatches)
	}
	if len(res.Earlier) > 0 {
		t.mutated(ctx, "Made by an attempt cut short, as CloudTrail shows it", res.Earlier)
	}
	for _, done := range res.Applied {
		t.mutated(ctx, t.mutationSummary(done.Kind, in.OrgInput), done.Calls)
	}
	return res, gaveUp(summary, err)
}

// mutationSummary says what a mutation does, in the record and the UI.
func (t *target) mutationSummary(k activities.MutationKind, org activities.OrgInput) string {
	switch k {
	case activities.MutateEnableTrustedAccess:
		if t.in.Action == ActionRollback {
			return "Re-enable trusted access for cloudtrail.amazonaws.com"
		}
		return "Enable trusted access for cloudtrail.amazonaws.com"
	case activities.MutateCreateRole:
		return "Create service-linked role AWSServiceRoleForCloudTrail"
	case activities.MutateRegisterAdmins:
		return "Register CloudTrail delegated administrators " + strings.Join(org.Trail.DelegatedAdministrators, ", ")
	case activities.MutateBucketPolicy:
		return "Organization-trail policy on bucket " + org.Trail.Bucket
	case activities.MutateOrganizationTrail:
		return "Organization trail " + org.Trail.Name + " created and logging"
	}
	return string(k)
}

// confirm reads AWS back until it shows the change, probes a member
// account and links the mutations to CloudTrail's events, in one
// activity; it records what each found and ends the target in the final
// phase.
func (t *target) confirm(ctx workflow.Context, in activities.VerifyInput, final Phase) error {
	calls := t.calls()
	var c activities.Confirmation
	opts := workflow.GetActivityOptions(t.verifyOptions(ctx))
	opts.Summary = "Verify: read AWS back until it shows the change, probe a member account, link CloudTrail events"
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.ConfirmChange, activities.ConfirmInput{
		VerifyInput: in, Disable: t.in.Action == ActionDisable, Calls: calls,
	}).Get(ctx, &c)
	if err != nil {
		return err
	}
	t.progress.Evidence = &c.Evidence
	t.record(ctx, RecordVerified, nil, describeEvidence(c.Evidence))
	if c.Probe != nil {
		t.probed(ctx, *c.Probe)
	}
	switch {
	case c.Events != nil:
		t.linked(ctx, *c.Events, calls)
	case c.EventsError != "":
		t.record(ctx, RecordEvents, nil, "CloudTrail events not linked: "+c.EventsError)
	}
	t.setPhase(ctx, final)
	return nil
}
