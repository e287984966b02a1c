package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/workflows"
)

// DecisionCommandInput is an approval or a rejection at a change's gate:
// `trailgate approve` and `trailgate reject`.
type DecisionCommandInput struct {
	// Update is workflows.UpdateApprove or workflows.UpdateReject.
	Update   string
	ChangeID string
	// Wave is the wave decided on (1-based); zero means the wave the change
	// is at when the command asks it.
	Wave     int
	Comment  string
	Identity IdentityFlags
	Wait     bool
}

func (in DecisionCommandInput) validate() error {
	var problems []string
	if in.Update != workflows.UpdateApprove && in.Update != workflows.UpdateReject {
		problems = append(problems, fmt.Sprintf("unknown decision %q", in.Update))
	}
	problems = append(problems, changeIDProblems(in.ChangeID)...)
	if in.Wave < 0 {
		problems = append(problems, "--wave is a wave number, 1 or more (0: the wave awaiting a decision)")
	}
	problems = append(problems, in.Identity.problems()...)
	return problemsError(problems)
}

func changeIDProblems(id string) []string {
	if id == "" {
		return []string{"say which change: trailgate <command> <change-id>; `trailgate list` shows the changes"}
	}
	if err := workflows.ValidateChangeID(id); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// Decide approves or rejects a change as the person who proves it. A proof
// names the wave it decides on: the one asked for, else the one the change
// is at. A refusal comes back with the worker's reason (exit status 2).
func Decide(ctx context.Context, s *session, in DecisionCommandInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	verb := map[string]string{workflows.UpdateApprove: "approve", workflows.UpdateReject: "reject"}[in.Update]
	decider, err := s.person(ctx, in.Identity)
	if err != nil {
		return err
	}
	if err := s.requireRunning(ctx, in.ChangeID, verb); err != nil {
		return err
	}
	now, err := s.query(ctx, in.ChangeID)
	if err != nil {
		return err
	}
	wave := in.Wave
	if wave == 0 {
		wave = now.CurrentWave
	}
	d := workflows.Decision{Who: decider.who(), Comment: strings.TrimSpace(in.Comment), Wave: wave}
	if wave >= 1 && wave <= len(now.Waves) && now.Waves[wave-1].ApprovalRound() > 1 {
		// The plan changed since the wave's first approval: the decision
		// is for the round the change asks for now.
		d.Round = now.Waves[wave-1].ApprovalRound()
	}
	if d.Who, err = decider.prove(ctx, d.Binding(in.ChangeID, workflows.DecisionKind(in.Update))); err != nil {
		return err
	}
	p, err := s.update(ctx, in.ChangeID, in.Update, verb, d)
	if err != nil {
		return err
	}
	if !s.json {
		past := map[string]string{workflows.UpdateApprove: "approved", workflows.UpdateReject: "rejected"}[in.Update]
		fmt.Fprintf(s.stdout, "%s %s change %s%s.\n", provenAs(p, d.Who), past, in.ChangeID, waveSuffix(wave, p))
	}
	return s.afterDecision(ctx, p, in.Wait)
}

// provenAs names the person behind the decision a change just took, as the
// worker proved them: "alice (arn:…)", or "alice (claimed, not verified)".
func provenAs(p workflows.ChangeProgress, sent workflows.Who) string {
	if who, ok := lastDecider(p); ok {
		return who.String()
	}
	return sent.By
}

func waveSuffix(wave int, p workflows.ChangeProgress) string {
	if wave == 0 || len(p.Waves) < 2 {
		return ""
	}
	return fmt.Sprintf(" (wave %d of %d)", wave, len(p.Waves))
}

// CleanupCommandInput is the CloudTrail administrator's cleanup
// confirmation before a disable: `trailgate confirm-cleanup`.
type CleanupCommandInput struct {
	ChangeID string
	// Organization limits the confirmation to one organization; empty
	// confirms for every organization awaiting it.
	Organization                       string
	AcknowledgeMemberLoggingStops      bool
	AcknowledgeEventDataStores         bool
	AcknowledgeDelegatedAdministrators bool
	Comment                            string
	Identity                           IdentityFlags
	Wait                               bool
}

func (in CleanupCommandInput) validate() error {
	return problemsError(append(changeIDProblems(in.ChangeID), in.Identity.problems()...))
}

// ConfirmCleanup confirms CloudTrail-side cleanup as the person who proves
// it.
func ConfirmCleanup(ctx context.Context, s *session, in CleanupCommandInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	admin, err := s.person(ctx, in.Identity)
	if err != nil {
		return err
	}
	c := workflows.CleanupConfirmation{
		Who:                                admin.who(),
		Comment:                            strings.TrimSpace(in.Comment),
		Organization:                       in.Organization,
		AcknowledgeMemberLoggingStops:      in.AcknowledgeMemberLoggingStops,
		AcknowledgeEventDataStores:         in.AcknowledgeEventDataStores,
		AcknowledgeDelegatedAdministrators: in.AcknowledgeDelegatedAdministrators,
	}
	if c.Who, err = admin.prove(ctx, c.Binding(in.ChangeID)); err != nil {
		return err
	}
	p, err := s.decide(ctx, in.ChangeID, workflows.UpdateConfirmCleanup, "confirm cleanup for", c)
	if err != nil {
		return err
	}
	if !s.json {
		scope := "every organization awaiting it"
		if in.Organization != "" {
			scope = in.Organization
		}
		ack := ""
		if kinds := c.Acknowledged(); len(kinds) > 0 {
			names := make([]string, 0, len(kinds))
			for _, k := range kinds {
				names = append(names, string(k))
			}
			ack = ", acknowledging what stops: " + strings.Join(names, ", ")
		}
		fmt.Fprintf(s.stdout, "%s confirmed cleanup for change %s on %s%s.\n", provenAs(p, c.Who), in.ChangeID, scope, ack)
		if missing := unacknowledged(p, in.Organization, c.Acknowledged()); len(missing) > 0 {
			fmt.Fprintf(s.stdout, "Note: the last inventory found %s. If they still remain, the change keeps waiting for a confirmation with %s.\n",
				strings.Join(missing, "; "), strings.Join(ackFlags(p, in.Organization), " "))
		}
	}
	return s.afterDecision(ctx, p, in.Wait)
}

// inventories are the last inventories of a change's running
// organizations, limited to one organization when org is set.
func inventories(p workflows.ChangeProgress, org string) []workflows.Inventory {
	var out []workflows.Inventory
	for _, t := range p.Targets {
		if t.Inventory == nil || t.Phase.Final() || (org != "" && t.Organization != org) {
			continue
		}
		out = append(out, *t.Inventory)
	}
	return out
}

// unacknowledged says what the last inventories found that a confirmation
// acknowledging ack leaves unacknowledged.
func unacknowledged(p workflows.ChangeProgress, org string, ack []workflows.Impact) []string {
	var out []string
	for _, inv := range inventories(p, org) {
		for _, k := range workflows.Impacts(inv) {
			if slices.Contains(ack, k) {
				continue
			}
			switch k {
			case workflows.ImpactOrganizationTrails:
				out = append(out, "organization trails "+strings.Join(inv.TrailARNs(), ", "))
			case workflows.ImpactEventDataStores:
				out = append(out, "organization event data stores "+strings.Join(inv.EventDataStores, ", "))
			case workflows.ImpactDelegatedAdministrators:
				out = append(out, "delegated administrators "+strings.Join(inv.DelegatedAdministrators, ", "))
			}
		}
	}
	return out
}

// ackFlags are the flags that acknowledge every kind of impact the last
// inventories found.
func ackFlags(p workflows.ChangeProgress, org string) []string {
	var flags []string
	for _, inv := range inventories(p, org) {
		for _, k := range workflows.Impacts(inv) {
			if !slices.Contains(flags, k.Flag()) {
				flags = append(flags, k.Flag())
			}
		}
	}
	return flags
}

// ControlCommandInput pauses, resumes or cancels a change: `trailgate
// pause`, `trailgate resume` and `trailgate cancel`.
type ControlCommandInput struct {
	// Update is workflows.UpdatePause, UpdateResume or UpdateCancel.
	Update   string
	ChangeID string
	Reason   string
	Identity IdentityFlags
	Wait     bool
}

func (in ControlCommandInput) validate() error {
	var problems []string
	switch in.Update {
	case workflows.UpdatePause, workflows.UpdateResume, workflows.UpdateCancel:
	default:
		problems = append(problems, fmt.Sprintf("unknown control %q", in.Update))
	}
	problems = append(problems, changeIDProblems(in.ChangeID)...)
	if in.Update != workflows.UpdateResume && strings.TrimSpace(in.Reason) == "" {
		problems = append(problems, fmt.Sprintf("say why with --reason: the reason to %s goes into the change record", in.Update))
	}
	problems = append(problems, in.Identity.problems()...)
	return problemsError(problems)
}

// Control pauses, resumes or cancels a change as the person who proves it.
func Control(ctx context.Context, s *session, in ControlCommandInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	steerer, err := s.person(ctx, in.Identity)
	if err != nil {
		return err
	}
	c := workflows.Control{Who: steerer.who(), Reason: strings.TrimSpace(in.Reason)}
	if c.Who, err = steerer.prove(ctx, c.Binding(in.ChangeID, workflows.DecisionKind(in.Update))); err != nil {
		return err
	}
	p, err := s.decide(ctx, in.ChangeID, in.Update, in.Update, c)
	if err != nil {
		return err
	}
	if !s.json {
		past := map[string]string{workflows.UpdatePause: "paused", workflows.UpdateResume: "resumed", workflows.UpdateCancel: "cancelled"}[in.Update]
		fmt.Fprintf(s.stdout, "%s %s change %s.\n", provenAs(p, c.Who), past, in.ChangeID)
	}
	return s.afterDecision(ctx, p, in.Wait)
}

// decide sends a decision to a change that must be running, and returns
// its progress after the decision. An ended or unknown change and a refusal
// each come back as a clear usage error.
func (s *session) decide(ctx context.Context, changeID, name, doing string, arg any) (workflows.ChangeProgress, error) {
	if err := s.requireRunning(ctx, changeID, doing); err != nil {
		return workflows.ChangeProgress{}, err
	}
	return s.update(ctx, changeID, name, doing, arg)
}

// update sends a decision to a change and returns its progress after the
// decision.
func (s *session) update(ctx context.Context, changeID, name, doing string, arg any) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	uctx, cancel := context.WithTimeout(ctx, decisionTimeout)
	defer cancel()
	h, err := s.client.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID:   changeID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return p, explain(err, changeID, doing)
	}
	if err := h.Get(uctx, &p); err != nil {
		return p, explain(err, changeID, doing)
	}
	return p, nil
}

// afterDecision prints where the change stands after a decision and, with
// wait, follows it to its next gate or its end.
func (s *session) afterDecision(ctx context.Context, p workflows.ChangeProgress, wait bool) error {
	if !wait {
		if s.json {
			return writeJSON(s.stdout, p)
		}
		fmt.Fprintln(s.stdout, "  "+statusLine(p))
		return nil
	}
	s.printLink(p.ChangeID)
	final, err := s.follow(ctx, p.ChangeID, followOptions{until: followToGate, from: &p})
	if err != nil {
		return err
	}
	if s.json {
		if err := writeJSON(s.stdout, final); err != nil {
			return err
		}
	}
	if final.Phase.Final() {
		return outcomeError(final)
	}
	return nil
}
