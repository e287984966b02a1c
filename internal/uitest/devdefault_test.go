package uitest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/cli"
	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/internal/temporalclient"
	"github.com/trailgate/trailgate/workflows"
)

// devDefault is trailgate-worker --dev in this process: Temporal with its
// UI, the AWS sandbox with the demo's organizations and people, the
// configuration it writes, and a worker on it.
type devDefault struct {
	t   *testing.T
	env *devmode.Environment
}

// startDevDefault starts the dev default on free ports in a temporary data
// directory, and a worker as trailgate-worker --dev runs it; all stop when
// the test ends.
func startDevDefault(t *testing.T) *devDefault {
	t.Helper()
	// The CLI finds people's AWS profiles in the files the dev default
	// writes, never in the machine's own.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", config.ConfigFileEnv} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	cfg := config.Default()
	cfg.Dev.DataDir = t.TempDir()
	ports, err := devserver.FreePorts(devmode.Host, 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dev.TemporalPort, cfg.Dev.UIPort, cfg.Dev.SandboxPort = ports[0], ports[1], ports[2]
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := devmode.Start(ctx, cfg, quiet)
	if err != nil {
		t.Fatalf("start the dev default: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = env.Close(ctx)
	})
	cfg = env.Config

	c, err := temporalclient.Dial(ctx, cfg.Temporal, quiet, nil)
	if err != nil {
		t.Fatalf("connect to the dev default's Temporal: %v", err)
	}
	t.Cleanup(c.Close)
	key, err := proof.LoadOrCreateKey(cfg.Identity.ProofKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := activities.New(ctx, cfg, key, nil)
	if err != nil {
		t.Fatalf("the dev default's activities: %v", err)
	}
	w := worker.New(c, cfg.Temporal.TaskQueue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(activities.WithTemporal(acts, c))
	if err := w.Start(); err != nil {
		t.Fatalf("start the worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return &devDefault{t: t, env: env}
}

// uiURL is where the dev default serves the Temporal UI.
func (d *devDefault) uiURL() string { return d.env.Temporal.UIURL() }

// organizations are the names of the dev default's organizations.
func (d *devDefault) organizations() []string {
	var names []string
	for _, o := range d.env.Config.Organizations {
		names = append(names, o.Name)
	}
	return names
}

// trailgate runs `trailgate --config <the dev default's file> args...` as
// bin/trailgate does, and fails the test unless it exits 0.
func (d *devDefault) trailgate(args ...string) string {
	d.t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := cli.Main(ctx, append([]string{"--config", d.env.ConfigFile}, args...), &out, &errOut)
	d.t.Logf("$ trailgate %s\n%s%s(exit status %d)", strings.Join(args, " "), out.String(), errOut.String(), code)
	if code != 0 {
		d.t.Fatalf("trailgate %s: exit status %d, want 0:\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}
