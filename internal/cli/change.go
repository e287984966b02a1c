package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

// ChangeCommandInput is what `trailgate enable` and `trailgate disable` are
// asked to do.
type ChangeCommandInput struct {
	Action workflows.Action
	// Organizations are names from the configuration; All takes every one.
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
	As               string
	Wait             bool
}

// validate says what is wrong with the input, all at once, before anything
// starts.
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
	return problemsError(problems)
}

// selectionProblems checks --org and --all against the configured
// organizations.
func selectionProblems(cfg config.Config, names []string, all bool) []string {
	var problems []string
	switch {
	case all && len(names) > 0:
		problems = append(problems, "give --org or --all, not both")
	case !all && len(names) == 0:
		problems = append(problems, fmt.Sprintf("no organizations: name some with --org (configured: %s), or use --all", strings.Join(configuredNames(cfg), ", ")))
	case all && len(cfg.Organizations) == 0:
		problems = append(problems, "--all: no organizations are configured; add them under organizations: in the configuration")
	}
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			problems = append(problems, fmt.Sprintf("--org %s is given twice", name))
			continue
		}
		seen[name] = true
		if !slices.Contains(configuredNames(cfg), name) {
			problems = append(problems, fmt.Sprintf("--org %s: no such organization in the configuration (configured: %s)", name, strings.Join(configuredNames(cfg), ", ")))
		}
	}
	return problems
}

func configuredNames(cfg config.Config) []string {
	names := make([]string, 0, len(cfg.Organizations))
	for _, o := range cfg.Organizations {
		names = append(names, o.Name)
	}
	return names
}

// selectOrganizations returns the configured organizations a selection
// names, in the order given (--all: the configuration's order).
func selectOrganizations(cfg config.Config, names []string, all bool) []config.Organization {
	if all {
		return slices.Clone(cfg.Organizations)
	}
	var orgs []config.Organization
	for _, name := range names {
		for _, o := range cfg.Organizations {
			if o.Name == name {
				orgs = append(orgs, o)
			}
		}
	}
	return orgs
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

// changeInput is the workflow input the command asks for.
func (in ChangeCommandInput) changeInput(cfg config.Config, requester string, now time.Time) (workflows.ChangeInput, error) {
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
		Organizations:    selectOrganizations(cfg, in.Organizations, in.All),
		Trail:            cfg.Trail,
		Waves:            in.Waves,
		Concurrency:      in.Concurrency,
		FailureBudget:    in.FailureBudget,
		Policy:           workflows.PolicyFromConfig(cfg.Approvals),
		ApproveEveryWave: in.ApproveEveryWave,
		Windows:          windows,
		Requester:        requester,
		Reason:           strings.TrimSpace(in.Reason),
	}
	if err := ci.Validate(); err != nil {
		return ci, usage(err)
	}
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
	return fmt.Sprintf("%s-%s-%s", action, now.UTC().Format("20060102-150405"), b)
}

// StartChange starts a change (enable, disable or rollback) as the acting
// identity and, with Wait, follows it to its end.
func StartChange(ctx context.Context, s *session, in ChangeCommandInput) error {
	if err := in.validate(s.cfg); err != nil {
		return err
	}
	requester, err := actingIdentity(in.As, s.identity)
	if err != nil {
		return err
	}
	ci, err := in.changeInput(s.cfg, requester, s.now())
	if err != nil {
		return err
	}
	return s.startChange(ctx, ci, in.Wait)
}

// startChange starts the change workflow (ID = change ID) and reports it.
func (s *session) startChange(ctx context.Context, ci workflows.ChangeInput, wait bool) error {
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
	if !s.json {
		names := make([]string, 0, len(ci.Organizations))
		for _, o := range ci.Organizations {
			names = append(names, o.Name)
		}
		fmt.Fprintf(s.stdout, "Change %s started: %s on %s, requested by %s.\n", ci.ChangeID, actionPhrase(ci.Action), strings.Join(names, ", "), ci.Requester)
		s.printLink(ci.ChangeID)
	}
	if !wait {
		if s.json {
			return writeJSON(s.stdout, startedJSON{ChangeID: ci.ChangeID, Action: ci.Action, Requester: ci.Requester, URL: s.changeURL(ci.ChangeID)})
		}
		fmt.Fprintf(s.stdout, "Follow it with: trailgate status %s --watch\n", ci.ChangeID)
		return nil
	}
	p, err := s.follow(ctx, ci.ChangeID, followOptions{until: followToEnd})
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

// startedJSON is what a change command prints with --json and without
// --wait.
type startedJSON struct {
	ChangeID  string           `json:"change_id"`
	Action    workflows.Action `json:"action"`
	Requester string           `json:"requester"`
	URL       string           `json:"url,omitempty"`
}

func changeSummary(ci workflows.ChangeInput) string {
	s := fmt.Sprintf("%s on %d organization(s), requested by %s", actionPhrase(ci.Action), len(ci.Organizations), ci.Requester)
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
