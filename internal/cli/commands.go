package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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

// runs makes cmd run work in a session.
func runs(cmd *cobra.Command, open openSession, work func(ctx context.Context, s *session) error) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return run(cmd, open, work) }
	return cmd
}

// aboutChange makes cmd a command about one change, named by its one
// argument into changeID, that runs work in a session.
func aboutChange(cmd *cobra.Command, open openSession, changeID *string, work func(ctx context.Context, s *session) error) *cobra.Command {
	cmd.Args = changeIDArg
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		*changeID = args[0]
		return run(cmd, open, work)
	}
	return cmd
}

// addIdentityFlags adds --profile and --as to a decision command; role
// says who the command is for.
func addIdentityFlags(f *pflag.FlagSet, in *IdentityFlags, role string) {
	f.StringVar(&in.Profile, "profile", "", "AWS profile whose credentials prove who you are (default $"+profileEnv+", else the default chain, IAM Identity Center included)")
	f.StringVar(&in.As, "as", "", role+": your name; with AWS credentials the worker checks it against your proof, without any it is a claim, accepted only where the worker allows claims (default $"+UserEnv+" for a claim)")
}

// followToGateHelp is what --wait does after a decision.
const followToGateHelp = "then follow the change until its next gate or its end"

// addDeciderFlags adds --profile, --as and --wait to a command that decides
// on a change; role says who decides, waitHelp what --wait follows.
func addDeciderFlags(f *pflag.FlagSet, in *IdentityFlags, role string, wait *bool, waitHelp string) {
	addIdentityFlags(f, in, role)
	f.BoolVar(wait, "wait", false, waitHelp)
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
