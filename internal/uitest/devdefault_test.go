package uitest

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/cli"
	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/internal/devmode/devmodetest"
	"github.com/trailgate/trailgate/internal/proof"
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
	env := devmodetest.Start(t)
	key, err := proof.LoadOrCreateKey(env.Config.Identity.ProofKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	devmodetest.StartWorker(t, env, key)
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
