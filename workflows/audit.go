package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/metrics"
)

// AuditWorkflow reads every organization of the worker's configuration,
// auditChunk at a time, compares it with its desired state and announces, once, each finding
// that appeared and each that was resolved since the previous audit. The
// previous audit's result, kept by Temporal, is what makes "once" hold.
// It never mutates: remediation is an ordinary change.
func AuditWorkflow(ctx workflow.Context, in AuditInput) (AuditReport, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var a *activities.Activities
	report := AuditReport{AuditID: workflow.GetInfo(ctx).WorkflowExecution.ID, Trigger: in.Trigger, At: workflow.Now(ctx)}

	// The activity returns the previous report as it came; the data
	// converter decodes it here (none: a zero report).
	var previous AuditReport
	if err := workflow.ExecuteActivity(ctx, a.PreviousAudit, activities.PreviousAuditQuery{Query: previousAuditQuery}).Get(ctx, &previous); err != nil {
		return report, fmt.Errorf("read the previous audit: %w", err)
	}
	report.PreviousAt = previous.At

	var targets []activities.AuditTarget
	if err := workflow.ExecuteActivity(ctx, a.AuditTargets).Get(ctx, &targets); err != nil {
		return report, fmt.Errorf("list the organizations to audit: %w", err)
	}
	var err error
	if workflow.GetVersion(ctx, versionAuditChunks, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		report.Organizations, err = auditEachOrganization(ctx, a, targets)
	} else {
		report.Organizations, err = auditInChunks(ctx, a, targets)
	}
	if err != nil {
		return report, err
	}

	report.Findings, report.Appeared, report.Resolved = reconcile(previous.Findings, report.Organizations, report.At)
	keepDetailsOfFindings(report.Organizations)
	for _, f := range report.Findings {
		report.Drift = report.Drift || f.Kind.Drift()
	}
	drift := DriftNo
	if report.Drift {
		drift = DriftYes
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, DriftKey.ValueSet(drift)); err != nil {
		return report, err
	}
	workflow.SetCurrentDetails(ctx, auditDetails(report))

	if len(report.Appeared) > 0 || len(report.Resolved) > 0 {
		// A notice that cannot be delivered fails the audit, so that the
		// next audit, comparing with the last that completed, announces
		// it again.
		notice := activities.DriftNotice{AuditID: report.AuditID, At: report.At, Appeared: report.Appeared, Resolved: report.Resolved}
		if err := workflow.ExecuteActivity(ctx, a.NotifyDrift, notice).Get(ctx, nil); err != nil {
			return report, fmt.Errorf("announce drift: %w", err)
		}
	}
	// Counted once announced: an audit that failed to announce is
	// announced again by the next.
	h := workflow.GetMetricsHandler(ctx)
	for _, f := range report.Appeared {
		metrics.DriftFinding(h, string(f.Kind), metrics.FindingAppeared)
	}
	for _, f := range report.Resolved {
		metrics.DriftFinding(h, string(f.Kind), metrics.FindingResolved)
	}
	return report, nil
}

// previousAuditQuery finds the newest audit that completed: the one whose
// findings were announced. The running audit has not completed.
var previousAuditQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed'", AuditWorkflowName)

// verifiedQuery finds the newest target that verified what it did to an
// organization.
func verifiedQuery(org string) activities.VerifiedQuery {
	return activities.VerifiedQuery{
		Query: fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND %s IN ('%s', '%s', '%s')",
			TargetWorkflowName, OrganizationKey.GetName(), org, PhaseKey.GetName(), PhaseSucceeded, PhaseNoChange, PhaseRolledBack),
		Attributes: []string{ActionKey.GetName(), PhaseKey.GetName(), ChangeIDKey.GetName()},
	}
}

// desiredFromVerified is the state a verified target left: trusted access
// on after an enable, a rollback or a disable rolled back; off after a
// disable. Nothing verified leaves the organization unmanaged.
func desiredFromVerified(v activities.Verified) (Desired, string) {
	if v.WorkflowID == "" {
		return activities.DesiredUnmanaged, "nothing verified by trailgate yet"
	}
	from := fmt.Sprintf("verified by change %s", v.Attributes[ChangeIDKey.GetName()])
	action, phase := Action(v.Attributes[ActionKey.GetName()]), Phase(v.Attributes[PhaseKey.GetName()])
	if action == ActionDisable && phase != PhaseRolledBack {
		return activities.DesiredDisabled, from
	}
	return activities.DesiredEnabled, from
}

// reconcile carries each standing finding's first sighting over from the
// previous audit and says what appeared and what was resolved. What an
// organization that could not be read showed before still stands: only a
// reading can resolve it.
func reconcile(previous []Finding, orgs []OrgAudit, now time.Time) (current, appeared, resolved []Finding) {
	before := map[string]Finding{}
	for _, f := range previous {
		before[f.Key()] = f
	}
	unread := map[string]bool{}
	for _, o := range orgs {
		for _, f := range o.Findings {
			if f.Kind == activities.FindingUnreadable {
				unread[o.Organization] = true
			}
		}
	}
	current, appeared, resolved = []Finding{}, []Finding{}, []Finding{}
	seen := map[string]bool{}
	for _, o := range orgs {
		for _, f := range o.Findings {
			if p, ok := before[f.Key()]; ok {
				f.Since = p.Since
			} else {
				f.Since = now
				appeared = append(appeared, f)
			}
			seen[f.Key()] = true
			current = append(current, f)
		}
	}
	for _, f := range previous {
		switch {
		case seen[f.Key()]:
		case unread[f.Organization]:
			current = append(current, f)
		default:
			resolved = append(resolved, f)
		}
	}
	return current, appeared, resolved
}

// keepDetailsOfFindings leaves out the live state and inventory of the
// organizations without findings: they match their desired state, which
// the report says. The report is the workflow's result and the next
// audit's starting point, both within Temporal's payload limit (2 MB),
// and at about 0.95 KB an organization with its details, an audit of
// 2,000 organizations reached it. The result is not part of what a replay
// compares: no version is needed.
func keepDetailsOfFindings(orgs []OrgAudit) {
	for i := range orgs {
		if len(orgs[i].Findings) == 0 {
			orgs[i].Current, orgs[i].Inventory = nil, nil
		}
	}
}

// auditDetails is the audit as the Temporal UI shows it.
func auditDetails(r AuditReport) string {
	var b strings.Builder
	drifted := 0
	for _, f := range r.Findings {
		if f.Kind.Drift() {
			drifted++
		}
	}
	b.WriteString(fmt.Sprintf("**Drift audit** of %d organization(s): %d drift finding(s), %d appeared, %d resolved\n\n", len(r.Organizations), drifted, len(r.Appeared), len(r.Resolved)))
	for _, o := range r.Organizations {
		b.WriteString(fmt.Sprintf("- **%s**: desired %s (%s)\n", o.Organization, o.Desired, o.DesiredFrom))
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n| kind | organization | expected | actual | since |\n| --- | --- | --- | --- | --- |\n")
		for _, f := range r.Findings {
			b.WriteString(fmt.Sprintf("| %s%s | %s | %s | %s | %s |\n", f.Kind, subject(f), f.Organization, f.Expected, f.Actual, f.Since.UTC().Format(time.RFC3339)))
		}
	}
	return b.String()
}

func subject(f Finding) string {
	if f.Subject == "" {
		return ""
	}
	return " (" + f.Subject + ")"
}
