package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

// openSession builds the session of a command from its flags: the
// configuration, a Temporal client and the output mode. The returned
// function closes the client.
type openSession func(cmd *cobra.Command) (*session, func(), error)

// addChangeCommands adds the commands that drive changes to root.
func addChangeCommands(root *cobra.Command, open openSession) {
	root.AddCommand(
		newChangeCommand(workflows.ActionEnable, open),
		newChangeCommand(workflows.ActionDisable, open),
		newPlanCommand(open),
		newDecisionCommand(workflows.UpdateApprove, open),
		newDecisionCommand(workflows.UpdateReject, open),
		newConfirmCleanupCommand(open),
		newStatusCommand(open),
		newListCommand(open),
		newControlCommand(workflows.UpdatePause, open),
		newControlCommand(workflows.UpdateResume, open),
		newControlCommand(workflows.UpdateCancel, open),
		newRollbackCommand(open),
		newRecordCommand(open),
		newWhoamiCommand(open),
		newAuditCommand(open),
	)
}

// run opens the session, runs a command's work and closes the session.
func run(cmd *cobra.Command, open openSession, work func(ctx context.Context, s *session) error) error {
	s, closeSession, err := open(cmd)
	if err != nil {
		return err
	}
	defer closeSession()
	return work(cmd.Context(), s)
}

// stdoutIsTerminal says whether progress can be drawn as a bar.
func stdoutIsTerminal() bool {
	return term.IsTerminal(int(os.Stdout.Fd()))
}

// newSessionValues fills what every session has besides the configuration
// and the client.
func newSessionValues(cmd *cobra.Command, s *session) {
	s.stdout = cmd.OutOrStdout()
	s.stderr = cmd.ErrOrStderr()
	if f := cmd.Flags().Lookup("json"); f != nil {
		s.json = f.Value.String() == "true"
	}
	s.tty = s.stdout == os.Stdout && stdoutIsTerminal()
	if s.tty {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.width = w
		}
	}
	if s.poll == 0 {
		s.poll = followEvery
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.identity.lookupEnv == nil {
		s.identity = identitySources{lookupEnv: os.LookupEnv, now: s.now}
	}
}

// followEvery is how often --wait and --watch ask a change for its
// progress.
var followEvery = time.Second

// addIdentityFlags adds --profile and --as to a decision command; role
// says who the command is for.
func addIdentityFlags(f *pflag.FlagSet, in *IdentityFlags, role string) {
	f.StringVar(&in.Profile, "profile", "", "AWS profile whose credentials prove who you are (default $"+profileEnv+", else the default chain, IAM Identity Center included)")
	f.StringVar(&in.As, "as", "", role+": your name; with AWS credentials the worker checks it against your proof, without any it is a claim, accepted only where the worker allows claims (default $"+UserEnv+" for a claim)")
}

// withIdentityHelp is a decision command's long help: what it does, then
// how identity is proven.
func withIdentityHelp(long string) string {
	return long + "\n\n" + identityHelp
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

func newPlanCommand(open openSession) *cobra.Command {
	var in PlanCommandInput
	cmd := &cobra.Command{
		Use:   "plan enable|disable (--org NAME ... | --all)",
		Short: "Show what enable or disable would change in each organization; reads only, never mutates",
		Example: "  trailgate plan enable --all\n" +
			"  trailgate plan disable --org acme-prod --json",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{string(workflows.ActionEnable), string(workflows.ActionDisable)},
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := workflows.ParseAction(args[0])
			if err != nil || a == workflows.ActionRollback {
				return usage(fmt.Errorf("plan what? write `trailgate plan enable` or `trailgate plan disable`, not %q", args[0]))
			}
			in.Action = a
			return run(cmd, open, func(ctx context.Context, s *session) error { return Plan(ctx, s, in) })
		},
	}
	cmd.Flags().StringArrayVar(&in.Organizations, "org", nil, "organization to plan, by its name in the worker's configuration (repeatable)")
	cmd.Flags().BoolVar(&in.All, "all", false, "plan every organization of the configuration")
	return cmd
}

func newDecisionCommand(update string, open openSession) *cobra.Command {
	in := DecisionCommandInput{Update: update}
	short := "Approve the wave of a change that awaits approval"
	if update == workflows.UpdateReject {
		short = "Reject a change at its gate; nothing more is changed"
	}
	cmd := &cobra.Command{
		Use:   update + " <change-id>",
		Short: short,
		Long: withIdentityHelp(short + `.

The proof names the wave decided on: --wave, else the wave the change is at
when the command asks it. The worker applies the gate policy in force for the
change to the person it proves.`),
		Example: fmt.Sprintf("  trailgate %s enable-20260101-020000-ab12 --profile alice --comment \"CAB approved\"", update),
		Args:    changeIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.ChangeID = args[0]
			return run(cmd, open, func(ctx context.Context, s *session) error { return Decide(ctx, s, in) })
		},
	}
	cmd.Flags().IntVar(&in.Wave, "wave", 0, "the wave decided on (default: the wave the change is at)")
	cmd.Flags().StringVar(&in.Comment, "comment", "", "comment for the record")
	addIdentityFlags(cmd.Flags(), &in.Identity, "approver")
	cmd.Flags().BoolVar(&in.Wait, "wait", false, "then follow the change until its next gate or its end")
	return cmd
}

func newConfirmCleanupCommand(open openSession) *cobra.Command {
	var in CleanupCommandInput
	cmd := &cobra.Command{
		Use:   "confirm-cleanup <change-id>",
		Short: "As CloudTrail administrator, confirm that CloudTrail-side cleanup is done before a disable",
		Long: withIdentityHelp(`As CloudTrail administrator, confirm that CloudTrail-side cleanup is done
before trusted access is disabled, for one organization (--org) or for every
organization that awaits it. The confirmation acknowledges each kind of impact
the inventory found, because disabling stops each for the member accounts:
  --acknowledge-member-logging-stops       organization trails stop logging
  --acknowledge-event-data-stores          organization event data stores stop collecting
  --acknowledge-delegated-administrators   delegated administrators lose organization-wide access
Right before disabling, trailgate takes the inventory again; anything new since
the confirmation brings the change back here, with nothing disabled.`),
		Example: "  trailgate confirm-cleanup disable-20260101-020000-ab12 --profile carol --acknowledge-member-logging-stops",
		Args:    changeIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.ChangeID = args[0]
			return run(cmd, open, func(ctx context.Context, s *session) error { return ConfirmCleanup(ctx, s, in) })
		},
	}
	cmd.Flags().StringVar(&in.Organization, "org", "", "confirm for this organization only (default: every organization awaiting it)")
	cmd.Flags().BoolVar(&in.AcknowledgeMemberLoggingStops, "acknowledge-member-logging-stops", false, "acknowledge that remaining organization trails stop logging for member accounts")
	cmd.Flags().BoolVar(&in.AcknowledgeEventDataStores, "acknowledge-event-data-stores", false, "acknowledge that organization event data stores stop collecting member accounts' events")
	cmd.Flags().BoolVar(&in.AcknowledgeDelegatedAdministrators, "acknowledge-delegated-administrators", false, "acknowledge that CloudTrail's delegated administrators lose their organization-wide access")
	cmd.Flags().StringVar(&in.Comment, "comment", "", "comment for the record")
	addIdentityFlags(cmd.Flags(), &in.Identity, "CloudTrail administrator")
	cmd.Flags().BoolVar(&in.Wait, "wait", false, "then follow the change until its next gate or its end")
	return cmd
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

func newListCommand(open openSession) *cobra.Command {
	var in ListCommandInput
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List changes, newest first: change ID, action, phase, start time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd, open, func(ctx context.Context, s *session) error { return List(ctx, s, in) })
		},
	}
	cmd.Flags().IntVar(&in.Limit, "limit", 100, "list at most this many changes")
	return cmd
}

func newControlCommand(update string, open openSession) *cobra.Command {
	in := ControlCommandInput{Update: update}
	short := map[string]string{
		workflows.UpdatePause:  "Pause a change: no further organization starts mutating",
		workflows.UpdateResume: "Resume a paused change",
		workflows.UpdateCancel: "Cancel a change: organizations not yet mutating stop with nothing changed",
	}[update]
	cmd := &cobra.Command{
		Use:     update + " <change-id>",
		Short:   short,
		Long:    withIdentityHelp(short + ".\n\nThe requester and approvers steer a change."),
		Example: fmt.Sprintf("  trailgate %s enable-20260101-020000-ab12 --reason \"incident INC-42\" --profile alice", update),
		Args:    changeIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.ChangeID = args[0]
			return run(cmd, open, func(ctx context.Context, s *session) error { return Control(ctx, s, in) })
		},
	}
	cmd.Flags().StringVar(&in.Reason, "reason", "", "why, for the record (required to pause or cancel)")
	addIdentityFlags(cmd.Flags(), &in.Identity, "requester or approver")
	cmd.Flags().BoolVar(&in.Wait, "wait", false, "then follow the change until its next gate or its end")
	return cmd
}

func newRollbackCommand(open openSession) *cobra.Command {
	var in RollbackCommandInput
	short := "Roll back an ended disable: a new change re-enables trusted access on its organizations and verifies logging"
	cmd := &cobra.Command{
		Use:     "rollback <change-id>",
		Short:   short,
		Long:    withIdentityHelp(short + ".\n\nThe rollback is a change of its own, with its own gates, requested by you."),
		Example: "  trailgate rollback disable-20260101-020000-ab12 --reason \"member accounts need their trails\" --profile dave",
		Args:    changeIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.ChangeID = args[0]
			return run(cmd, open, func(ctx context.Context, s *session) error { return Rollback(ctx, s, in) })
		},
	}
	cmd.Flags().StringVar(&in.RollbackID, "change-id", "", "ID of the rollback change (default <change-id>-rollback)")
	cmd.Flags().StringVar(&in.Reason, "reason", "", "why, for the record")
	addIdentityFlags(cmd.Flags(), &in.Identity, "requester")
	cmd.Flags().BoolVar(&in.Wait, "wait", false, "follow the rollback until it ends")
	return cmd
}

func newRecordCommand(open openSession) *cobra.Command {
	var in RecordCommandInput
	cmd := &cobra.Command{
		Use:   "record <change-id>",
		Short: "Export a change record (every gate, decision, mutation and piece of evidence) as JSON or Markdown",
		Example: "  trailgate record enable-20260101-020000-ab12 --format markdown -o CHG-1234.md\n" +
			"  trailgate record enable-20260101-020000-ab12 --format json",
		Args: changeIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			in.ChangeID = args[0]
			if in.Format == "md" {
				in.Format = FormatMarkdown
			}
			return run(cmd, open, func(ctx context.Context, s *session) error { return Record(ctx, s, in) })
		},
	}
	cmd.Flags().StringVar(&in.Format, "format", FormatMarkdown, "json or markdown")
	cmd.Flags().StringVarP(&in.Output, "output", "o", "", "write to this file (default standard output)")
	return cmd
}

// changeIDArg requires exactly one argument, the change ID.
func changeIDArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usage(fmt.Errorf("%s takes one change ID (got %d arguments); `trailgate list` shows the changes", cmd.CommandPath(), len(args)))
	}
	return nil
}

// sessionOpener returns the openSession of the change commands: load the
// configuration from the command's flags (every problem at once, exit
// status 2), then connect to Temporal with dial.
func sessionOpener(dial func(config.Config) (client.Client, error)) openSession {
	return func(cmd *cobra.Command) (*session, func(), error) {
		cfg, err := config.Load(config.LoadOptions{Flags: cmd.Flags()})
		if err != nil {
			return nil, nil, err
		}
		c, err := dial(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; is the worker's Temporal running? `trailgate doctor` checks", cfg.Temporal.Address, cfg.Temporal.Namespace, err)
		}
		s := &session{cfg: cfg, client: c}
		newSessionValues(cmd, s)
		return s, c.Close, nil
	}
}
