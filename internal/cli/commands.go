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
