package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/logging"
	"github.com/trailgate/trailgate/internal/temporalclient"
)

// DevConfigFile is the configuration the dev default (trailgate-worker
// --dev) writes in its data directory. Run from the directory that holds it,
// the CLI uses it when no configuration is named.
var DevConfigFile = filepath.Join(config.Default().Dev.DataDir, config.DefaultFile)

// dialTimeout bounds connecting to Temporal for a command.
const dialTimeout = 15 * time.Second

// Main runs the trailgate CLI with args (without the program name), writing
// to stdout and stderr, and returns the exit status: 0 done, 1 something
// failed, 2 usage or configuration errors.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, ran := NewRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitDone
	}
	if !*ran {
		// Cobra refused the command line (unknown command, flag or
		// arguments) before any command ran.
		err = usage(err)
	}
	fmt.Fprintln(stderr, "trailgate:", err)
	return ExitStatus(err)
}

// NewRootCommand builds `trailgate` with every command. ran turns true once
// a command starts, so that errors before it are known as usage errors.
func NewRootCommand(stdout, stderr io.Writer) (root *cobra.Command, ran *bool) {
	ran = new(bool)
	root = &cobra.Command{
		Use:   "trailgate",
		Short: "Enable and disable CloudTrail trusted access across AWS organizations, durably and with approvals",
		Long: `trailgate turns enabling and disabling CloudTrail trusted access with AWS
Organizations into change-managed rollouts: waves, approvals, cleanup
confirmation, verification and a change record, run by Temporal.

Configuration comes from --config (else $TRAILGATE_CONFIG, else ./trailgate.yaml,
else ` + DevConfigFile + ` when the dev default wrote it here), TRAILGATE_*
variables and flags.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			*ran = true
			return useDevConfig(cmd, stderr)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	config.RegisterFlags(root.PersistentFlags())
	root.PersistentFlags().Bool("json", false, "print JSON (a documented, stable shape) instead of text")

	dial := func(cfg config.Config) (client.Client, error) {
		logger, err := cliLogger(cfg, stderr)
		if err != nil {
			return nil, err
		}
		opts, err := temporalclient.Options(cfg.Temporal, logger, nil)
		if err != nil {
			return nil, usage(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		defer cancel()
		// The session says where it was connecting to.
		return client.DialContext(ctx, opts)
	}
	addChangeCommands(root, sessionOpener(dial))
	root.AddCommand(newDoctorCommand(), newSandboxCommand())
	return root, ran
}

// cliLogger keeps the SDK's informational logs off a person's terminal.
func cliLogger(cfg config.Config, stderr io.Writer) (*slog.Logger, error) {
	logger, err := logging.New(cfg.Log, stderr, slog.LevelWarn)
	if err != nil {
		return nil, usage(err)
	}
	return logger, nil
}

// ownsConfig annotates a command that writes a configuration of its own
// from the one it loads, which must then not be the dev default's.
const ownsConfig = "owns-config"

// useDevConfig points --config at the dev default's configuration when no
// configuration is named and the working directory holds it, and says so.
func useDevConfig(cmd *cobra.Command, stderr io.Writer) error {
	f := cmd.Flags().Lookup("config")
	if f == nil || f.Changed || os.Getenv(config.ConfigFileEnv) != "" || cmd.Annotations[ownsConfig] != "" {
		return nil
	}
	if _, err := os.Stat(config.DefaultFile); err == nil {
		return nil
	}
	if st, err := os.Stat(DevConfigFile); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	if err := cmd.Flags().Set("config", DevConfigFile); err != nil {
		return usage(fmt.Errorf("use %s: %w", DevConfigFile, err))
	}
	fmt.Fprintf(stderr, "trailgate: using %s, written by trailgate-worker --dev (--config or $%s chooses another)\n", DevConfigFile, config.ConfigFileEnv)
	return nil
}

// configSource says where the configuration of cmd comes from.
func configSource(cmd *cobra.Command) string {
	if f := cmd.Flags().Lookup("config"); f != nil && f.Value.String() != "" {
		return f.Value.String()
	}
	if p := os.Getenv(config.ConfigFileEnv); p != "" {
		return p + " ($" + config.ConfigFileEnv + ")"
	}
	if _, err := os.Stat(config.DefaultFile); err == nil {
		return config.DefaultFile
	}
	return ""
}
