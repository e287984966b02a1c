package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

// ChangeCommandInput is what `trailgate enable` and `trailgate disable` are
// asked to do.
type ChangeCommandInput struct {
	Action workflows.Action
	// Organizations are names the worker's configuration knows; All takes
	// every organization of the CLI's configuration.
	Organizations []string
	All           bool
	// ChangeID names the change; empty generates
	// <action>-<yyyymmdd-hhmmss>-<4 random>.
	ChangeID         string
	Waves            []string
	Concurrency      int
	FailureBudget    int
	Windows          []string
	ApproveEveryWave bool
	Reason           string
	Identity         IdentityFlags
	Wait             bool
}

// validate says what is wrong with the input, all at once, before anything
// starts. Which organizations exist is the worker's to say.
func (in ChangeCommandInput) validate(cfg config.Config) error {
	var problems []string
	if in.Action != workflows.ActionEnable && in.Action != workflows.ActionDisable && in.Action != workflows.ActionRollback {
		problems = append(problems, fmt.Sprintf("unknown action %q", in.Action))
	}
	problems = append(problems, selectionProblems(cfg, in.Organizations, in.All)...)
	if in.ChangeID != "" {
		if err := workflows.ValidateChangeID(in.ChangeID); err != nil {
			problems = append(problems, err.Error())
		}
	}
	n := len(cfg.Organizations)
	if !in.All {
		n = len(in.Organizations)
	}
	if _, err := workflows.PlanWaves(in.Waves, max(n, 1)); err != nil {
		problems = append(problems, "--waves: "+err.Error())
	}
	if in.Concurrency < 0 {
		problems = append(problems, "--concurrency must be 0 (all of a wave at once) or more")
	}
	if in.FailureBudget < 0 {
		problems = append(problems, "--failure-budget must be 0 (halt at the first failure) or more")
	}
	for _, w := range in.Windows {
		if _, err := workflows.ParseWindow(w); err != nil {
			problems = append(problems, "--window: "+err.Error())
		}
	}
	problems = append(problems, in.Identity.problems()...)
	return problemsError(problems)
}

// selectionProblems checks --org and --all. The worker says whether it
// knows the organizations named; --all takes those of the CLI's
// configuration.
func selectionProblems(cfg config.Config, names []string, all bool) []string {
	var problems []string
	switch {
	case all && len(names) > 0:
		problems = append(problems, "give --org or --all, not both")
	case !all && len(names) == 0:
		problems = append(problems, "no organizations: name some with --org"+configuredSuffix(cfg)+", or use --all")
	case all && len(cfg.Organizations) == 0:
		problems = append(problems, "--all: the configuration lists no organizations; name them with --org, or list them under organizations: in the configuration")
	}
	seen := map[string]bool{}
	for _, name := range names {
		switch {
		case strings.TrimSpace(name) == "":
			problems = append(problems, "--org is given an empty name")
		case seen[name]:
			problems = append(problems, fmt.Sprintf("--org %s is given twice", name))
		}
		seen[name] = true
	}
	return problems
}

// configuredSuffix names the organizations of the CLI's configuration, as
// a hint.
func configuredSuffix(cfg config.Config) string {
	if len(cfg.Organizations) == 0 {
		return ""
	}
	return " (configured: " + strings.Join(configuredNames(cfg), ", ") + ")"
}

func configuredNames(cfg config.Config) []string {
	names := make([]string, 0, len(cfg.Organizations))
	for _, o := range cfg.Organizations {
		names = append(names, o.Name)
	}
	return names
}

// selectedNames returns the organizations a selection names, in the order
// given (--all: the configuration's order).
func selectedNames(cfg config.Config, names []string, all bool) []string {
	if all {
		return configuredNames(cfg)
	}
	return slices.Clone(names)
}

func problemsError(problems []string) error {
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return usage(fmt.Errorf("%s", problems[0]))
	}
	return usage(fmt.Errorf("%d problems:\n  %s", len(problems), strings.Join(problems, "\n  ")))
}

// changeInput is the workflow input the command asks for, complete but
// for the requester, whose proof is bound to all the rest.
func (in ChangeCommandInput) changeInput(cfg config.Config, now time.Time) (workflows.ChangeInput, error) {
	id := in.ChangeID
	if id == "" {
		id = newChangeID(in.Action, now)
	}
	var windows []workflows.MaintenanceWindow
	for _, s := range in.Windows {
		w, err := workflows.ParseWindow(s)
		if err != nil {
			return workflows.ChangeInput{}, usage(err)
		}
		windows = append(windows, w)
	}
	ci := workflows.ChangeInput{
		ChangeID:         id,
		Action:           in.Action,
		Organizations:    selectedNames(cfg, in.Organizations, in.All),
		Waves:            in.Waves,
		Concurrency:      in.Concurrency,
		FailureBudget:    in.FailureBudget,
		ApproveEveryWave: in.ApproveEveryWave,
		Windows:          windows,
		Reason:           strings.TrimSpace(in.Reason),
	}
	if err := ci.Validate(); err != nil {
		return ci, usage(err)
	}
	return ci, nil
}

// request is the change input with its requester, proven: the requester's
// nonce is set first, then the proof is bound to the whole input.
func (p person) request(ctx context.Context, ci workflows.ChangeInput) (workflows.ChangeInput, error) {
	ci.Requester = p.who()
	who, err := p.prove(ctx, ci.Binding())
	if err != nil {
		return ci, err
	}
	ci.Requester = who
	return ci, nil
}

// newChangeID generates <action>-<yyyymmdd-hhmmss>-<4 random>.
func newChangeID(action workflows.Action, now time.Time) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return fmt.Sprintf("%s-%s-%s", action, now.UTC().Format(layoutChangeID), b)
}

// StartChange starts a change (enable, disable or rollback), requested by
// the person who proves it, and, with Wait, follows it to its end.
func StartChange(ctx context.Context, s *session, in ChangeCommandInput) error {
	if err := in.validate(s.cfg); err != nil {
		return err
	}
	ci, err := in.changeInput(s.cfg, s.now())
	if err != nil {
		return err
	}
	requester, err := s.person(ctx, in.Identity)
	if err != nil {
		return err
	}
	return s.startChange(ctx, requester, ci, in.Wait)
}

// startChange proves the request, starts the change workflow (ID = change
// ID), waits until the worker has verified who requested it, and reports
// it.
func (s *session) startChange(ctx context.Context, requester person, ci workflows.ChangeInput, wait bool) error {
	ci, err := requester.request(ctx, ci)
	if err != nil {
		return err
	}
	opts := client.StartWorkflowOptions{
		ID:                                       ci.ChangeID,
		TaskQueue:                                s.cfg.Temporal.TaskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.ChangeIDKey.ValueSet(ci.ChangeID),
			workflows.ActionKey.ValueSet(string(ci.Action)),
			workflows.PhaseKey.ValueSet(string(workflows.PhasePending)),
		),
		StaticSummary: changeSummary(ci),
	}
	if _, err := s.client.ExecuteWorkflow(ctx, opts, workflows.ChangeWorkflowName, ci); err != nil {
		return explain(err, ci.ChangeID, "start")
	}
	p, err := s.verifiedRequest(ctx, ci.ChangeID)
	if err != nil {
		return err
	}
	if !s.json {
		fmt.Fprintf(s.stdout, "Change %s started: %s on %s, requested by %s.\n", ci.ChangeID, actionPhrase(ci.Action), strings.Join(ci.Organizations, ", "), p.RequestedBy)
		s.printLink(ci.ChangeID)
	}
	if !wait {
		if s.json {
			return writeJSON(s.stdout, startedJSON{ChangeID: ci.ChangeID, Action: ci.Action, Requester: p.RequestedBy.By, RequestedBy: p.RequestedBy, URL: s.changeURL(ci.ChangeID)})
		}
		fmt.Fprintf(s.stdout, "Follow it with: trailgate status %s --watch\n", ci.ChangeID)
		return nil
	}
	p, err = s.follow(ctx, ci.ChangeID, followOptions{until: followToEnd})
	if err != nil {
		return err
	}
	if s.json {
		if err := writeJSON(s.stdout, p); err != nil {
			return err
		}
	}
	return outcomeError(p)
}

// verifiedRequest waits, briefly, until the worker has verified who
// requested a change that just started, and returns its progress then. A
// request the worker refused (its proof, an organization it does not know)
// comes back as a refusal with the worker's reason: exit status 2.
func (s *session) verifiedRequest(ctx context.Context, changeID string) (workflows.ChangeProgress, error) {
	vctx, cancel := context.WithTimeout(ctx, decisionTimeout)
	defer cancel()
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		// Until the worker has verified the request, the change answers no
		// query.
		p, err := s.query(vctx, changeID)
		if err == nil && p.RequestedBy.By != "" {
			return p, nil
		}
		if e, err := s.describe(vctx, changeID); err == nil && !e.Running() {
			return s.startFailure(vctx, changeID)
		}
		select {
		case <-vctx.Done():
			if ctx.Err() != nil {
				return workflows.ChangeProgress{}, stoppedFollowing(changeID, ctx.Err())
			}
			return workflows.ChangeProgress{}, fmt.Errorf("change %s started, but the worker has not verified who requested it within %s (is trailgate-worker running? `trailgate doctor` checks); the change waits for it, and `trailgate status %s` shows who requested it once it has", changeID, decisionTimeout, changeID)
		case <-tick.C:
		}
	}
}

// startFailure says why a change ended as soon as it started.
func (s *session) startFailure(ctx context.Context, changeID string) (workflows.ChangeProgress, error) {
	var p workflows.ChangeProgress
	err := s.client.GetWorkflow(ctx, changeID, "").Get(ctx, &p)
	if err == nil {
		return p, nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return p, &refusal{by: "the worker", reason: fmt.Sprintf("change %s: %s", changeID, app.Message())}
	}
	return p, fmt.Errorf("change %s ended as it started: %w", changeID, err)
}

// startedJSON is what a change command prints with --json and without
// --wait.
type startedJSON struct {
	ChangeID  string           `json:"change_id"`
	Action    workflows.Action `json:"action"`
	Requester string           `json:"requester"`
	// RequestedBy is the requester as the worker proved them.
	RequestedBy workflows.Who `json:"requested_by"`
	URL         string        `json:"url,omitempty"`
}

// changeSummary is the change's summary in the Temporal UI; who requested
// it is the worker's to prove, and shows in the change's record.
func changeSummary(ci workflows.ChangeInput) string {
	s := fmt.Sprintf("%s on %d organization(s)", actionPhrase(ci.Action), len(ci.Organizations))
	if ci.Reason != "" {
		s += ": " + ci.Reason
	}
	return s
}

// parseWaves reads --waves 1,25%,rest (also repeated).
func parseWaves(values []string) []string {
	var waves []string
	for _, v := range values {
		for _, w := range strings.Split(v, ",") {
			if w = strings.TrimSpace(w); w != "" {
				waves = append(waves, w)
			}
		}
	}
	return waves
}

// actionPhrase says what a change of the action does, for people.
func actionPhrase(a workflows.Action) string {
	if a == workflows.ActionRollback {
		return "roll back: re-enable CloudTrail trusted access"
	}
	return string(a) + " CloudTrail trusted access"
}

func newChangeCommand(action workflows.Action, open openSession) *cobra.Command {
	in := ChangeCommandInput{Action: action}
	var waves []string
	short := map[workflows.Action]string{
		workflows.ActionEnable:  "Enable CloudTrail trusted access on organizations, in waves, with approvals and verification",
		workflows.ActionDisable: "Disable CloudTrail trusted access on organizations, after cleanup confirmation and approvals",
	}[action]
	cmd := &cobra.Command{
		Use:   string(action) + " (--org NAME ... | --all)",
		Short: short,
		Long: withIdentityHelp(short + `.

The change names organizations; the worker resolves them, and the gate policy,
from its own configuration. It runs in the worker: each organization is planned
from live state, approvers approve each gated wave (the requester never
approves their own change), mutations run inside the maintenance windows, and
verification reads AWS back. Without --wait the command returns once the worker
has verified who requested the change.`),
		Example: fmt.Sprintf("  trailgate %s --all --waves 1,rest --approve-every-wave --reason \"CHG-1234\" --profile dave\n  trailgate %s --org acme-prod --wait", action, action),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in.Waves = parseWaves(waves)
			return run(cmd, open, func(ctx context.Context, s *session) error { return StartChange(ctx, s, in) })
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&in.Organizations, "org", nil, "organization to change, by its name in the worker's configuration (repeatable)")
	f.BoolVar(&in.All, "all", false, "change every organization of the configuration")
	f.StringVar(&in.ChangeID, "change-id", "", "ID of the change (default <action>-<yyyymmdd-hhmmss>-<4 random>)")
	f.StringSliceVar(&waves, "waves", nil, "waves, in order: a count (1), a share (25%) or rest; for example 1,25%,rest (default one wave of all)")
	f.IntVar(&in.Concurrency, "concurrency", 0, "organizations of a wave that mutate at once (0: all of them)")
	f.IntVar(&in.FailureBudget, "failure-budget", 0, "organizations that may fail before the change halts (0: halt at the first failure)")
	f.StringArrayVar(&in.Windows, "window", nil, "maintenance window in UTC in which mutations may start, such as \"sat,sun 02:00+6h\" (repeatable)")
	f.BoolVar(&in.ApproveEveryWave, "approve-every-wave", false, "every wave waits for approvers (default: only the first)")
	f.StringVar(&in.Reason, "reason", "", "why the change is made, for the record (a ticket number, for example)")
	addIdentityFlags(f, &in.Identity, "requester")
	f.BoolVar(&in.Wait, "wait", false, "follow the change until it ends; the exit status says how it ended")
	return cmd
}
