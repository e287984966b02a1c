package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// auditEachOrganization is how an audit read its organizations before
// versionAuditChunks: an activity for each, after one for what trailgate
// last verified there when the configuration declares no desired state.
// Audits that started so replay it on a worker that reads in chunks.
func auditEachOrganization(ctx workflow.Context, a *activities.Activities, targets []activities.AuditTarget) ([]OrgAudit, error) {
	// Each organization is read on its own; futures are collected in the
	// configuration's order.
	audits := make([]workflow.Future, len(targets))
	for i, t := range targets {
		settable, set := workflow.NewFuture(ctx)
		audits[i] = settable
		workflow.Go(ctx, func(ctx workflow.Context) {
			in, err := desiredFor(ctx, a, t)
			if err != nil {
				set.Set(nil, err)
				return
			}
			var out activities.OrgAudit
			err = workflow.ExecuteActivity(ctx, a.AuditOrganization, in).Get(ctx, &out)
			set.Set(out, err)
		})
	}
	var orgs []OrgAudit
	for i, f := range audits {
		var o OrgAudit
		if err := f.Get(ctx, &o); err != nil {
			return nil, fmt.Errorf("audit organization %s: %w", targets[i].Organization, err)
		}
		orgs = append(orgs, o)
	}
	return orgs, nil
}

// desiredFor resolves, in an activity of its own, what an organization is
// held to: its configuration's word, else what trailgate last verified
// there.
func desiredFor(ctx workflow.Context, a *activities.Activities, t activities.AuditTarget) (activities.AuditOrgInput, error) {
	in := activities.AuditOrgInput{AuditTarget: t, Desired: t.Desired, DesiredFrom: desiredFromConfiguration}
	if t.Desired != "" {
		return in, nil
	}
	var v activities.Verified
	if err := workflow.ExecuteActivity(ctx, a.LastVerified, verifiedQuery(t.Organization)).Get(ctx, &v); err != nil {
		return in, fmt.Errorf("read what trailgate last verified for %s: %w", t.Organization, err)
	}
	in.Desired, in.DesiredFrom = desiredFromVerified(v)
	return in, nil
}
