package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

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
// starts: what changeInput says.
func (in ChangeCommandInput) validate(cfg config.Config) error {
	_, err := in.changeInput(cfg, time.Now())
	return err
}

// What is wrong with a selection of organizations (--org, --all), in the
// words of the flags. Which organizations exist is the worker's to say.
const (
	bothSelected = "give --org or --all, not both"
	emptyOrg     = "--org is given an empty name"
)

// noneSelected says that no organization was selected: with --all, the
// CLI's configuration lists none.
func noneSelected(cfg config.Config, all bool) string {
	if all {
		return "--all: the configuration lists no organizations; name them with --org, or list them under organizations: in the configuration"
	}
	return "no organizations: name some with --org" + configuredSuffix(cfg) + ", or use --all"
}

func orgTwice(name string) string { return fmt.Sprintf("--org %s is given twice", name) }

// selectionProblems checks --org and --all of a command whose input the
// workflows do not validate themselves (a plan).
func selectionProblems(cfg config.Config, names []string, all bool) []string {
	var problems []string
	switch {
	case all && len(names) > 0:
		problems = append(problems, bothSelected)
	case !all && len(names) == 0, all && len(cfg.Organizations) == 0:
		problems = append(problems, noneSelected(cfg, all))
	}
	seen := map[string]bool{}
	for _, name := range names {
		switch {
		case strings.TrimSpace(name) == "":
			problems = append(problems, emptyOrg)
		case seen[name]:
			problems = append(problems, orgTwice(name))
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
// for the requester, whose proof is bound to all the rest. The input is
// validated once, by workflows.ChangeInput.Validate, whose problems are said
// in the words of the flags, with those of the flags that do not make it
// into the input: all problems at once, before anything starts.
func (in ChangeCommandInput) changeInput(cfg config.Config, now time.Time) (workflows.ChangeInput, error) {
	var problems []string
	organizations := make([]string, 0, len(in.Organizations))
	for _, name := range in.Organizations {
		organizations = append(organizations, strings.TrimSpace(name))
	}
	switch {
	case in.All && len(organizations) > 0:
		problems = append(problems, bothSelected)
	case in.All:
		organizations = configuredNames(cfg)
	}
	var windows []workflows.MaintenanceWindow
	for _, s := range in.Windows {
		w, err := workflows.ParseWindow(s)
		if err != nil {
			problems = append(problems, "--window: "+err.Error())
			continue
		}
		windows = append(windows, w)
	}
	id := in.ChangeID
	if id == "" {
		id = newChangeID(in.Action, now)
	}
	ci := workflows.ChangeInput{
		ChangeID:         id,
		Action:           in.Action,
		Organizations:    organizations,
		Waves:            in.Waves,
		Concurrency:      in.Concurrency,
		FailureBudget:    in.FailureBudget,
		ApproveEveryWave: in.ApproveEveryWave,
		Windows:          windows,
		Reason:           strings.TrimSpace(in.Reason),
	}
	problems = append(problems, in.flagProblems(cfg, ci.Validate())...)
	problems = append(problems, in.Identity.problems()...)
	return ci, problemsError(problems)
}

// flagProblems says the problems of workflows.ChangeInput.Validate's error
// in the words of the command's flags. Problems that no one flag fixes (an
// organization name no configuration has, a reason too long) keep
// Validate's words, after "invalid change: ".
func (in ChangeCommandInput) flagProblems(cfg config.Config, invalid error) []string {
	if invalid == nil {
		return nil
	}
	var input *workflows.InvalidInputError
	if !errors.As(invalid, &input) {
		return []string{invalid.Error()}
	}
	var said []string
	var unsaid []workflows.Problem
	for _, p := range input.Problems {
		if f, ok := in.flagProblem(cfg, p); ok {
			said = append(said, f)
		} else {
			unsaid = append(unsaid, p)
		}
	}
	if len(unsaid) > 0 {
		rest := workflows.InvalidInputError{What: input.What, Problems: unsaid}
		said = append(said, rest.Error())
	}
	return said
}

// flagProblem says one of Validate's problems with a change input in the
// words of the flag that fixes it; ok is false when no one flag does.
func (in ChangeCommandInput) flagProblem(cfg config.Config, p workflows.Problem) (string, bool) {
	switch p.Field {
	case workflows.FieldChangeID:
		return p.Text, true
	case workflows.FieldOrganizations:
		switch p.Kind {
		case workflows.ProblemMissing:
			return noneSelected(cfg, in.All), true
		case workflows.ProblemEmpty:
			return emptyOrg, true
		case workflows.ProblemRepeated:
			return orgTwice(p.Value), true
		}
	case workflows.FieldWaves:
		return "--waves: " + p.Text, true
	case workflows.FieldConcurrency:
		return "--concurrency must be 0 (all of a wave at once) or more", true
	case workflows.FieldFailureBudget:
		return "--failure-budget must be 0 (halt at the first failure) or more", true
	case workflows.FieldWindows:
		return "--window: " + p.Text, true
	}
	return p.Text, false
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
	st, err := s.requestChange(ctx, in)
	if err != nil {
		return err
	}
	return s.reportStart(ctx, st, in.Wait)
}

// requestChange reads the change's input, finds who requests it and
// starts it.
func (s *session) requestChange(ctx context.Context, in ChangeCommandInput) (startedJSON, error) {
	ci, err := in.changeInput(s.cfg, s.now())
	if err != nil {
		return startedJSON{}, err
	}
	requester, err := s.person(ctx, in.Identity)
	if err != nil {
		return startedJSON{}, err
	}
	return s.startChange(ctx, requester, ci)
}

// startChange proves the request, starts the change workflow and waits
// until the worker has verified who requested it.
func (s *session) startChange(ctx context.Context, requester person, ci workflows.ChangeInput) (startedJSON, error) {
	ci, err := requester.request(ctx, ci)
	if err != nil {
		return startedJSON{}, err
	}
	if err := s.changes.start(ctx, ci); err != nil {
		return startedJSON{}, err
	}
	p, err := s.verifiedRequest(ctx, ci.ChangeID)
	if err != nil {
		return startedJSON{}, err
	}
	return startedJSON{ChangeID: ci.ChangeID, Action: ci.Action, Requester: p.RequestedBy.By, RequestedBy: p.RequestedBy,
		URL: s.out.changeURL(ci.ChangeID), organizations: ci.Organizations}, nil
}

// reportStart says what started and, with wait, follows it to its end.
func (s *session) reportStart(ctx context.Context, st startedJSON, wait bool) error {
	if !s.out.json {
		writeStarted(s.out.stdout, st)
		s.out.printLink(st.ChangeID)
	}
	if !wait {
		return s.out.print(st, func(w io.Writer) { fmt.Fprintf(w, "Follow it with: trailgate status %s --watch\n", st.ChangeID) })
	}
	return s.followAndReport(ctx, st.ChangeID, followOptions{until: followToEnd})
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
		p, err := s.changes.query(vctx, changeID)
		if err == nil && p.RequestedBy.By != "" {
			return p, nil
		}
		if e, err := s.changes.describe(vctx, changeID); err == nil && !e.Running() {
			return s.changes.startFailure(vctx, changeID)
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
	f.StringSliceVar(&waves, "waves", nil, fmt.Sprintf("waves, in order: a count (1), a share (25%%) or rest; for example 1,25%%,rest (default one wave of all); a wave holds at most %d organizations", workflows.MaxWaveOrganizations))
	f.IntVar(&in.Concurrency, "concurrency", 0, "organizations of a wave that mutate at once (0: all of them)")
	f.IntVar(&in.FailureBudget, "failure-budget", 0, "organizations that may fail before the change halts (0: halt at the first failure)")
	f.StringArrayVar(&in.Windows, "window", nil, "maintenance window in UTC in which mutations may start, such as \"sat,sun 02:00+6h\" (repeatable)")
	f.BoolVar(&in.ApproveEveryWave, "approve-every-wave", false, "every wave waits for approvers (default: only the first)")
	f.StringVar(&in.Reason, "reason", "", "why the change is made, for the record (a ticket number, for example)")
	addDeciderFlags(f, &in.Identity, "requester", &in.Wait, "follow the change until it ends; the exit status says how it ended")
	return cmd
}
