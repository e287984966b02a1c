package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/workflows"
)

// ExitDrift is the exit status of `trailgate audit` when an organization
// differs from its desired state.
const ExitDrift = 1

// AuditCommandInput is what `trailgate audit` is asked to do: audit every
// organization now and, with Remediate, open changes that restore the
// desired state where it drifted.
type AuditCommandInput struct {
	Remediate bool
	Reason    string
	Identity  IdentityFlags
}

func (in AuditCommandInput) validate() error {
	var problems []string
	if !in.Remediate && (in.Reason != "" || in.Identity != IdentityFlags{}) {
		problems = append(problems, "--reason, --profile and --as are for --remediate, which requests a change")
	}
	problems = append(problems, in.Identity.problems()...)
	return problemsError(problems)
}

// auditTimeout bounds an audit: a few reads per organization.
const auditTimeout = 10 * time.Minute

// Audit runs a drift audit now, on the worker, and prints its findings.
// It exits with ExitDrift when some organization drifted. With Remediate
// it requests, as the person who proves it, one ordinary change per
// desired state (enable, disable) over the organizations that drifted,
// and prints their IDs; the changes wait at their gates like any other.
func Audit(ctx context.Context, s *session, in AuditCommandInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	var report workflows.AuditReport
	if err := s.changes.ask(ctx, question{
		workflowID: newChangeID("audit", s.now()),
		workflow:   workflows.AuditWorkflowName,
		input:      workflows.AuditInput{Trigger: workflows.AuditByCLI},
		summary:    "Drift audit of every organization (trailgate audit)",
		timeout:    auditTimeout,
		doing:      "audit",
	}, &report); err != nil {
		return err
	}
	out := auditJSON{AuditReport: report}
	if !s.out.json {
		writeAudit(s.out.stdout, report)
	}
	if in.Remediate && report.Drift {
		started, err := s.remediate(ctx, in, report)
		out.Remediation = started
		if err != nil {
			return err
		}
	}
	if s.out.json {
		if err := writeJSON(s.out.stdout, out); err != nil {
			return err
		}
	}
	if report.Drift {
		return &exitError{code: ExitDrift, err: fmt.Errorf("drift in %s", strings.Join(orgNames(report.Drifted()), ", "))}
	}
	return nil
}

// remediate requests the changes that restore each drifted organization's
// desired state: the same path as `trailgate enable` and `disable`.
func (s *session) remediate(ctx context.Context, in AuditCommandInput, report workflows.AuditReport) ([]startedJSON, error) {
	byAction := map[workflows.Action][]string{}
	for _, o := range report.Drifted() {
		switch o.Desired {
		case workflows.DesiredEnabled:
			byAction[workflows.ActionEnable] = append(byAction[workflows.ActionEnable], o.Organization)
		case workflows.DesiredDisabled:
			byAction[workflows.ActionDisable] = append(byAction[workflows.ActionDisable], o.Organization)
		}
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		reason = "restore the desired state after drift audit " + report.AuditID
	}
	var started []startedJSON
	for _, action := range []workflows.Action{workflows.ActionEnable, workflows.ActionDisable} {
		orgs := byAction[action]
		if len(orgs) == 0 {
			continue
		}
		change := ChangeCommandInput{Action: action, Organizations: orgs, Reason: reason, Identity: in.Identity}
		st, err := s.requestChange(ctx, change)
		if err != nil {
			return started, err
		}
		started = append(started, st)
		// With --json, what started is part of the audit's one document.
		if !s.out.json {
			if err := s.reportStart(ctx, st, false); err != nil {
				return started, err
			}
		}
	}
	return started, nil
}

func orgNames(orgs []workflows.OrgAudit) []string {
	names := make([]string, 0, len(orgs))
	for _, o := range orgs {
		names = append(names, o.Organization)
	}
	return names
}

// AuditScheduleInput controls the drift audit's schedule: show, pause or
// resume it, with a reason.
type AuditScheduleInput struct {
	// Do is "show", "pause" or "resume".
	Do     string
	Reason string
}

func (in AuditScheduleInput) validate() error {
	if (in.Do == "pause" || in.Do == "resume") && strings.TrimSpace(in.Reason) == "" {
		return usage(fmt.Errorf("audit %s needs --reason, for the schedule's note", in.Do))
	}
	return nil
}

// AuditSchedule shows the drift audit's schedule, or pauses or resumes it.
func AuditSchedule(ctx context.Context, s *session, in AuditScheduleInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	h := s.changes.auditSchedule(ctx)
	var err error
	switch in.Do {
	case "pause":
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: in.Reason})
	case "resume":
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: in.Reason})
	}
	if err != nil {
		return scheduleError(err, in.Do)
	}
	d, err := h.Describe(ctx)
	if err != nil {
		return scheduleError(err, "describe")
	}
	out := scheduleJSON{ID: workflows.AuditScheduleID, NextRuns: d.Info.NextActionTimes, Recent: []auditRunRef{}, Every: []string{}}
	if sp := d.Schedule.Spec; sp != nil {
		for _, i := range sp.Intervals {
			out.Every = append(out.Every, i.Every.String())
		}
	}
	if st := d.Schedule.State; st != nil {
		out.Paused, out.Note = st.Paused, st.Note
	}
	if p := d.Schedule.Policy; p != nil {
		out.Overlap = strings.ToLower(strings.TrimPrefix(p.Overlap.String(), "SCHEDULE_OVERLAP_POLICY_"))
		out.CatchupWindow = p.CatchupWindow.String()
	}
	for _, a := range d.Info.RecentActions {
		ref := auditRunRef{ScheduledAt: a.ScheduleTime}
		if a.StartWorkflowResult != nil {
			ref.WorkflowID = a.StartWorkflowResult.WorkflowID
		}
		out.Recent = append(out.Recent, ref)
	}
	return s.out.print(out, func(w io.Writer) { writeSchedule(w, out) })
}

func scheduleError(err error, doing string) error {
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("%s schedule %s: it does not exist; trailgate-worker creates it when it starts", doing, workflows.AuditScheduleID)
	}
	return fmt.Errorf("%s schedule %s: %w", doing, workflows.AuditScheduleID, err)
}

func newAuditCommand(open openSession) *cobra.Command {
	var in AuditCommandInput
	cmd := &cobra.Command{
		Use:   "audit [schedule | pause | resume]",
		Short: "Audit every organization for drift from its desired state now; exit 1 on drift",
		Long: withIdentityHelp(`Audit every organization of the worker's configuration for drift from its
desired state (by default what trailgate last verified there), now, and print
the findings. Reads only. Exit status 0: every organization matches; 1: drift;
2: usage. --remediate then requests ordinary changes, with their gates, that
restore the desired state, and prints their IDs.

` + "`audit schedule`" + ` shows the worker's schedule; ` + "`audit pause`" + ` and ` + "`audit resume`" + ` control it, with --reason.`),
		Example: "  trailgate audit --json\n  trailgate audit --remediate --profile dave\n  trailgate audit pause --reason \"INC-42: noisy during migration\"",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usage(fmt.Errorf("audit takes no arguments but schedule, pause or resume (got %q)", args[0]))
			}
			return nil
		},
	}
	runs(cmd, open, func(ctx context.Context, s *session) error { return Audit(ctx, s, in) })
	cmd.Flags().BoolVar(&in.Remediate, "remediate", false, "request changes (with plan, gates and record) that restore the desired state where it drifted")
	cmd.Flags().StringVar(&in.Reason, "reason", "", "with --remediate: why, for the change's record")
	addIdentityFlags(cmd.Flags(), &in.Identity, "with --remediate, requester")
	for _, do := range []string{"schedule", "pause", "resume"} {
		sin := AuditScheduleInput{Do: do}
		if do == "schedule" {
			sin.Do = "show"
		}
		short := map[string]string{
			"schedule": "Show the drift audit's schedule: interval, state, next and recent runs",
			"pause":    "Pause the drift audit's schedule, with a reason",
			"resume":   "Resume the drift audit's schedule, with a reason",
		}[do]
		sub := &cobra.Command{
			Use:   do,
			Short: short,
			Args:  cobra.NoArgs,
		}
		runs(sub, open, func(ctx context.Context, s *session) error { return AuditSchedule(ctx, s, sin) })
		if do != "schedule" {
			sub.Flags().StringVar(&sin.Reason, "reason", "", "why, for the schedule's note (required)")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}
