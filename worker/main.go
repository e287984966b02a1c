// Command trailgate-worker is trailgate's Temporal worker: it runs the
// change and target workflows and the AWS activities. With --dev it first
// starts the embedded default (Temporal, its UI and the AWS sandbox) and
// runs against it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/census"
	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/internal/exit"
	"github.com/trailgate/trailgate/internal/logging"
	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/internal/schedule"
	"github.com/trailgate/trailgate/internal/temporalclient"
	"github.com/trailgate/trailgate/workflows"
)

func main() {
	var dev, printKey bool
	cmd := &cobra.Command{
		Use:           "trailgate-worker",
		Short:         "Run trailgate's Temporal worker (--dev: with Temporal, its UI and the AWS sandbox in-process)",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(config.LoadOptions{Flags: cmd.Flags()})
			if err != nil {
				return err
			}
			if printKey {
				return printProofKey(cmd.OutOrStdout(), cfg)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, cfg, dev)
		},
	}
	config.RegisterFlags(cmd.Flags())
	d := config.Default().Dev
	cmd.Flags().BoolVar(&dev, "dev", false, "start the embedded default first: Temporal, the Temporal UI and the AWS sandbox, with state under dev.data_dir")
	cmd.Flags().BoolVar(&printKey, "print-proof-key", false, "print the worker's public proof key (creating identity.proof_key_file when missing) for the CLI's identity.worker_key, and exit")
	cmd.Flags().String("dev-data-dir", d.DataDir, "where the embedded default keeps its state")
	cmd.Flags().Int("dev-temporal-port", d.TemporalPort, "Temporal frontend port of the embedded default")
	cmd.Flags().Int("dev-ui-port", d.UIPort, "Temporal UI port of the embedded default")
	cmd.Flags().Int("dev-sandbox-port", d.SandboxPort, "AWS sandbox port of the embedded default")
	cmd.Flags().Int("dev-organizations", d.Organizations, "how many sandbox organizations a fresh embedded default is seeded with")
	cmd.Flags().Bool("dev-trail", d.Trail, "manage the embedded default's demo organization trail when trail.name names none")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &config.ValidationError{Problems: []string{err.Error()}}
	})

	err := cmd.Execute()
	if err != nil {
		fmt.Fprintln(os.Stderr, "trailgate-worker:", err)
	}
	os.Exit(exit.Code(err))
}

// run starts what the configuration asks for and runs the worker until ctx
// ends (SIGINT or SIGTERM), then stops everything in reverse order.
func run(ctx context.Context, cfg config.Config, dev bool) error {
	logger, err := logging.New(cfg.Log, os.Stderr, slog.LevelDebug)
	if err != nil {
		return &config.ValidationError{Problems: []string{err.Error()}}
	}
	slog.SetDefault(logger)

	if !dev {
		// The embedded default writes a configuration that is valid; any
		// other must be, before anything starts.
		if err := cfg.ValidateWorker(); err != nil {
			return err
		}
	}
	if dev {
		env, err := devmode.Start(ctx, cfg, logger)
		if err != nil {
			return err
		}
		defer closeWithin(10*time.Second, env.Close)
		cfg = env.Config
		env.WriteBanner(os.Stderr)
	}

	var metrics client.MetricsHandler
	if cfg.Metrics.Address != "" {
		m, err := temporalclient.ServeMetrics(cfg.Metrics.Address, logger)
		if err != nil {
			return err
		}
		defer closeWithin(5*time.Second, m.Close)
		metrics = m.Handler
		logger.Info("serving Prometheus metrics", "url", "http://"+m.Address+temporalclient.MetricsPath)
	}

	c, err := temporalclient.Dial(ctx, cfg.Temporal, logger, metrics)
	if err != nil {
		return err
	}
	defer c.Close()

	key, err := proof.LoadOrCreateKey(cfg.Identity.ProofKeyFile)
	if err != nil {
		return err
	}
	if cfg.Identity.AllowClaims {
		logger.Warn("identity.allow_claims is on: decisions typed with --as are taken on trust and marked claimed, not verified")
	}
	acts, err := activities.New(ctx, cfg, key, metrics)
	if err != nil {
		return err
	}
	w := worker.New(c, cfg.Temporal.TaskQueue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(activities.WithTemporal(acts, c))
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", cfg.Temporal.TaskQueue, err)
	}
	if err := schedule.EnsureAudit(ctx, c, cfg.Temporal.TaskQueue, cfg.Audit.Every); err != nil {
		w.Stop()
		return err
	}
	logger.Info("drift audit scheduled", "schedule", workflows.AuditScheduleID, "every", cfg.Audit.Every)
	if metrics != nil {
		go census.Run(ctx, c, metrics, census.Every, logger)
	}
	logger.Info("worker running", "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace, "task_queue", cfg.Temporal.TaskQueue)
	<-ctx.Done()
	logger.Info("stopping worker")
	w.Stop()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// printProofKey prints the public half of the worker's proof key: the CLI
// seals people's proofs to it (identity.worker_key).
func printProofKey(w io.Writer, cfg config.Config) error {
	if cfg.Identity.ProofKeyFile == "" {
		return &config.ValidationError{Problems: []string{"identity.proof_key_file is empty: set it to the file that holds (or will hold) the worker's proof key"}}
	}
	key, err := proof.LoadOrCreateKey(cfg.Identity.ProofKeyFile)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, key.Public().String())
	return err
}

func closeWithin(d time.Duration, close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := close(ctx); err != nil {
		slog.Error("shut down", "error", err)
	}
}
