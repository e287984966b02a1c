// Package devmodetest runs trailgate's embedded default in a test, as
// trailgate-worker --dev does: on free ports, in a temporary data
// directory, with a worker when the test wants one.
package devmodetest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/internal/temporalclient"
	"github.com/trailgate/trailgate/workflows"
)

// Config is the default configuration with the embedded default's data
// in a temporary directory and its services on free ports.
func Config(t testing.TB) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Dev.DataDir = t.TempDir()
	ports, err := devserver.FreePorts(devmode.Host, 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dev.TemporalPort, cfg.Dev.UIPort, cfg.Dev.SandboxPort = ports[0], ports[1], ports[2]
	return cfg
}

// Start starts the embedded default on Config, without a worker; it stops
// when the test ends.
func Start(t testing.TB) *devmode.Environment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The ports Config finds are free when it looks, but another test
	// process may take one before the server binds it: then the test
	// starts again on other ports, rather than failing for a neighbour.
	env, err := devmode.Start(ctx, Config(t), quiet())
	for tries := 1; err != nil && portTaken(err) && tries < 3; tries++ {
		env, err = devmode.Start(ctx, Config(t), quiet())
	}
	if err != nil {
		t.Fatalf("start the dev default: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = env.Close(ctx)
	})
	return env
}

// portTaken reports whether err says a port was taken.
func portTaken(err error) bool {
	var inUse *devserver.PortInUseError
	return errors.As(err, &inUse) || errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// StartWorker starts a worker on env's configuration, with trailgate's
// workflows and activities, as trailgate-worker runs it; key opens the
// proofs people send. It stops when the test ends.
func StartWorker(t testing.TB, env *devmode.Environment, key *proof.PrivateKey) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := temporalclient.Dial(ctx, env.Config.Temporal, quiet(), nil)
	if err != nil {
		t.Fatalf("connect to the dev default's Temporal: %v", err)
	}
	t.Cleanup(c.Close)
	acts, err := activities.New(ctx, env.Config, key, nil)
	if err != nil {
		t.Fatalf("the dev default's activities: %v", err)
	}
	w := worker.New(c, env.Config.Temporal.TaskQueue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(activities.WithTemporal(acts, c))
	if err := w.Start(); err != nil {
		t.Fatalf("start the worker: %v", err)
	}
	t.Cleanup(w.Stop)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
