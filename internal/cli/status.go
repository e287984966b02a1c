package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/workflows"
)

// StatusCommandInput asks where a change stands: `trailgate status`.
type StatusCommandInput struct {
	ChangeID string
	// Watch follows the change until it ends.
	Watch bool
	// UntilGate, with Watch, stops also when the change waits for people.
	UntilGate bool
}

func (in StatusCommandInput) validate() error {
	problems := changeIDProblems(in.ChangeID)
	if in.UntilGate && !in.Watch {
		problems = append(problems, "--until-gate goes with --watch")
	}
	return problemsError(problems)
}

// Status shows where a change stands; with Watch it follows the change. A
// change that ended unsuccessfully exits with status 1.
func Status(ctx context.Context, s *session, in StatusCommandInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	p, e, err := s.progress(ctx, in.ChangeID)
	if err != nil {
		return err
	}
	if in.Watch && e.Running() {
		until := followToEnd
		if in.UntilGate {
			until = followToGate
			if waitsForPeople(p) {
				return s.printStatus(ctx, p, e)
			}
		}
		if !s.json {
			s.printLink(in.ChangeID)
		}
		p, err = s.follow(ctx, in.ChangeID, followOptions{until: until})
		if err != nil {
			return err
		}
		if s.json {
			if err := writeJSON(s.stdout, p); err != nil {
				return err
			}
		}
		if p.Phase.Final() {
			return outcomeError(p)
		}
		return nil
	}
	return s.printStatus(ctx, p, e)
}

// statusJSON is what status --json prints: the change's progress and the
// AWS calls its organizations are retrying.
type statusJSON struct {
	workflows.ChangeProgress
	Retrying []Retry `json:"retrying,omitempty"`
}

func (s *session) printStatus(ctx context.Context, p workflows.ChangeProgress, e changeExecution) error {
	var retrying []Retry
	if e.Running() {
		retrying = s.retries(ctx, p)
	}
	if s.json {
		if err := writeJSON(s.stdout, statusJSON{p, retrying}); err != nil {
			return err
		}
	} else {
		writeStatus(s.stdout, p, e, s.changeURL(p.ChangeID))
		if len(retrying) > 0 {
			fmt.Fprintln(s.stdout, "\nRetrying")
			for _, r := range retrying {
				fmt.Fprintf(s.stdout, "  %s  %s\n", r.Organization, r.describe())
			}
		}
	}
	if p.Phase.Final() {
		return outcomeError(p)
	}
	return nil
}

// writeStatus prints a change for people: what, who, where it stands, its
// waves and organizations, and what it waits for.
func writeStatus(w io.Writer, p workflows.ChangeProgress, e changeExecution, link string) {
	fmt.Fprintf(w, "Change %s: %s, requested by %s\n", p.ChangeID, actionPhrase(p.Action), requestedBy(p))
	if p.Reason != "" {
		fmt.Fprintf(w, "  Reason:   %s\n", p.Reason)
	}
	if p.Policy != nil {
		fmt.Fprintf(w, "  Policy:   %s\n", policyText(*p.Policy))
	}
	if !e.Started.IsZero() {
		fmt.Fprintf(w, "  Started:  %s\n", stamp(e.Started))
	}
	if !e.Closed.IsZero() {
		fmt.Fprintf(w, "  Ended:    %s\n", stamp(e.Closed))
	}
	fmt.Fprintf(w, "  Status:   %s\n", statusLine(p))
	if link != "" {
		fmt.Fprintf(w, "  Temporal: %s\n", link)
	}
	if len(p.Waves) > 0 {
		fmt.Fprintln(w, "\nWaves")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  WAVE\tPHASE\tAPPROVED BY\tORGANIZATIONS")
		for _, wv := range p.Waves {
			approved := "not needed"
			if wv.NeedsApproval {
				approved = approvers(wv.Approvals)
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", wv.Number, orDash(string(wv.Phase)), approved, strings.Join(wv.Organizations, ", "))
		}
		tw.Flush()
	}
	if len(p.Targets) > 0 {
		fmt.Fprintln(w, "\nOrganizations")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ORGANIZATION\tWAVE\tPHASE\tDETAIL")
		for _, t := range p.Targets {
			detail := targetDetail(t)
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", t.Organization, t.Wave, t.Phase, detail)
		}
		tw.Flush()
	}
	if !p.Phase.Final() && p.Awaiting != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, awaitingLine(p))
	}
	if p.Phase.Final() {
		fmt.Fprintln(w)
		fmt.Fprintln(w, outcomeLine(p))
	}
}

// targetDetail says in a few words where an organization stands.
func targetDetail(t workflows.TargetSummary) string {
	switch {
	case t.Error != "":
		return "error: " + shortError(oneLine(t.Error))
	case t.Evidence != nil:
		return "verified: " + workflows.DescribeAccess(t.Evidence.TrustedAccess, t.Evidence.ServiceLinkedRole)
	case t.Phase.Final() && t.Plan != nil:
		return planSummary(*t.Plan)
	case t.Message != "":
		return oneLine(t.Message)
	case t.Plan != nil:
		return planSummary(*t.Plan)
	}
	return ""
}

func approvers(ds []workflows.Decision) string {
	if len(ds) == 0 {
		return "-"
	}
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		names = append(names, personName(d.Who))
	}
	return strings.Join(names, ", ")
}

// personName is a person as status lines show them: their name, marked
// when it was claimed rather than proven.
func personName(w workflows.Who) string {
	if w.Claimed {
		return w.By + " (claimed)"
	}
	return w.By
}

// requestedBy is the requester of a change as the worker proved them:
// "dave (arn:…)", or "dave (claimed, not verified)".
func requestedBy(p workflows.ChangeProgress) string {
	if p.RequestedBy.By != "" {
		return p.RequestedBy.String()
	}
	return orDash(p.Requester)
}

// policyText is the gate policy in force, in one line: approvals, from
// whom, the CloudTrail administrators, and whether claims are accepted.
func policyText(p workflows.GatePolicy) string {
	approvers := "any proven person but the requester"
	if len(p.Approvers) > 0 {
		approvers = strings.Join(p.Approvers, ", ")
	}
	claims := "claims not accepted (every decision is proven)"
	if p.AllowClaims {
		claims = "claims accepted (--as without proof, marked claimed, not verified)"
	}
	text := fmt.Sprintf("%d approval(s) from %s; CloudTrail administrators: %s; %s", p.RequiredApprovals, approvers, orDash(strings.Join(p.CloudTrailAdmins, ", ")), claims)
	if p.Timeout > 0 {
		text += "; gates expire after " + shortDuration(p.Timeout)
	}
	return text
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func planSummary(p workflows.Plan) string {
	if p.Empty() {
		return "nothing to do"
	}
	kinds := make([]string, 0, len(p.Steps))
	for _, st := range p.Steps {
		kinds = append(kinds, st.Kind)
	}
	return "plan: " + strings.Join(kinds, ", ")
}

func newStatusCommand(open openSession) *cobra.Command {
	var in StatusCommandInput
	cmd := &cobra.Command{
		Use:   "status <change-id>",
		Short: "Show where a change stands: phase, waves, organizations and what it awaits from whom",
		Example: "  trailgate status enable-20260101-020000-ab12 --watch\n" +
			"  trailgate status enable-20260101-020000-ab12 --json",
		Args: changeIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.ChangeID = args[0]
			return run(cmd, open, func(ctx context.Context, s *session) error { return Status(ctx, s, in) })
		},
	}
	cmd.Flags().BoolVarP(&in.Watch, "watch", "w", false, "follow the change until it ends; the exit status says how it ended")
	cmd.Flags().BoolVar(&in.UntilGate, "until-gate", false, "with --watch, stop also when the change waits for people at a gate")
	return cmd
}

// statusLine is where a change stands, in one line.
func statusLine(p workflows.ChangeProgress) string {
	parts := []string{string(p.Phase)}
	if len(p.Waves) > 0 {
		parts = append(parts, fmt.Sprintf("wave %d/%d", min(max(p.CurrentWave, 1), len(p.Waves)), len(p.Waves)))
	}
	parts = append(parts, fmt.Sprintf("%d/%d organizations done", p.Done(), len(p.Targets)))
	if p.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed (budget %d)", p.Failed, p.FailureBudget))
	}
	if p.Paused != nil {
		parts = append(parts, fmt.Sprintf("paused by %s: %s", personName(p.Paused.Who), p.Paused.Reason))
	}
	switch {
	case p.Awaiting == nil || p.Phase.Final():
	case p.Phase == workflows.PhaseAwaitingWindow:
		parts = append(parts, "mutations wait for the maintenance window opening at "+minute(p.Awaiting.Expires))
	default:
		parts = append(parts, "awaiting "+p.Awaiting.What+whoSuffix(p.Awaiting.Who))
		if w := p.CurrentWave; p.Phase == workflows.PhaseAwaitingApproval && w >= 1 && w <= len(p.Waves) && len(p.Waves[w-1].Approvals) > 0 {
			parts = append(parts, "approved so far by "+approvers(p.Waves[w-1].Approvals))
		}
	}
	return strings.Join(parts, " · ")
}

func whoSuffix(who []string) string {
	if len(who) == 0 {
		return ""
	}
	return " from " + strings.Join(who, ", ")
}
