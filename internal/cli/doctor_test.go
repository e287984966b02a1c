package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
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

type doctorRun struct {
	stdout, stderr string
	code           int
}

func doctor(t *testing.T, configFile string, args ...string) doctorRun {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := cli.Main(ctx, append([]string{"--config", configFile, "doctor"}, args...), &out, &errOut)
	r := doctorRun{stdout: out.String(), stderr: errOut.String(), code: code}
	t.Logf("$ trailgate --config %s doctor %s\n%s%s(exit status %d)", filepath.Base(configFile), strings.Join(args, " "), r.stdout, r.stderr, r.code)
	return r
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDoctorAgainstDevDefault runs doctor as a person would against the dev
// default: first before the worker runs, then with it, then with an
// organization whose role will not be assumed.
func TestDoctorAgainstDevDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal's server and the AWS sandbox")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	cfg := config.Default()
	cfg.Dev = config.Dev{DataDir: t.TempDir(), TemporalPort: freePort(t), UIPort: freePort(t), SandboxPort: freePort(t)}
	env, err := devmode.Start(ctx, cfg, quiet)
	if err != nil {
		t.Fatalf("start the dev default: %v", err)
	}
	defer env.Close(context.Background())

	r := doctor(t, env.ConfigFile)
	if r.code != 1 || !strings.Contains(r.stdout, "no worker polled task queue trailgate") || !strings.Contains(r.stdout, "fix: start bin/trailgate-worker") {
		t.Fatalf("doctor without a worker: want exit status 1 and the worker check failing with its fix, got %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	c, err := temporalclient.Dial(ctx, env.Config.Temporal, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Doctor sends no proof: any key will do for the worker.
	key, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	acts, err := activities.New(ctx, env.Config, key)
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, env.Config.Temporal.TaskQueue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(activities.WithTemporal(acts, c))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	// A worker's first polls reach the server within moments of Start.
	deadline := time.Now().Add(30 * time.Second)
	for r = doctor(t, env.ConfigFile); r.code != 0 && time.Now().Before(deadline); r = doctor(t, env.ConfigFile) {
		time.Sleep(500 * time.Millisecond)
	}
	if r.code != 0 || !strings.Contains(r.stdout, "All 10 checks passed.") || strings.Contains(r.stdout, "FAIL") {
		t.Fatalf("doctor against the dev default with its worker: want all green, got %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = doctor(t, env.ConfigFile, "--json")
	var report struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
			Fix    string `json:"fix"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("doctor --json printed something that is not JSON: %v\n%s", err, r.stdout)
	}
	var names []string
	for _, c := range report.Checks {
		names = append(names, c.Name)
		if !c.OK || c.Detail == "" || c.Fix != "" {
			t.Errorf("check %+v: want ok with a detail and no fix", c)
		}
	}
	want := "configuration identity claims temporal namespace search-attributes worker aws/acme-prod aws/acme-staging aws/globex"
	if !report.OK || r.code != 0 || strings.Join(names, " ") != want {
		t.Fatalf("doctor --json: ok %v, exit status %d, checks %v; want ok, 0, %s", report.OK, r.code, names, want)
	}

	// An organization whose external ID is wrong cannot be reached; doctor
	// says which and what to do, and exits 1.
	broken := env.Config
	broken.Organizations = append([]config.Organization(nil), env.Config.Organizations...)
	broken.Organizations[1].ExternalID = "not-the-external-id"
	brokenFile := filepath.Join(t.TempDir(), "broken.yaml")
	if err := config.WriteFile(brokenFile, broken); err != nil {
		t.Fatal(err)
	}
	r = doctor(t, brokenFile, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r.stdout)
	}
	if r.code != 1 || report.OK {
		t.Fatalf("doctor with a wrong external ID: want exit status 1 and ok false, got %d, %v", r.code, report.OK)
	}
	for _, c := range report.Checks {
		wantOK := c.Name != "aws/acme-staging"
		if c.OK != wantOK {
			t.Errorf("check %s ok = %v, want %v (%s)", c.Name, c.OK, wantOK, c.Detail)
		}
		if !c.OK && !strings.Contains(c.Fix, "external_id") {
			t.Errorf("check %s fix %q does not point at external_id", c.Name, c.Fix)
		}
	}
	if !strings.Contains(r.stderr, "1 of 10 checks failed") {
		t.Errorf("stderr %q does not say how many checks failed", r.stderr)
	}
}

func TestDoctorConfigurationErrorsExit2(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "trailgate.yaml")
	cfg := config.Default()
	cfg.Organizations = []config.Organization{{Name: "prod", ManagementAccountID: "12345"}}
	cfg.Temporal.Namespace = ""
	if err := config.WriteFile(bad, cfg); err != nil {
		t.Fatal(err)
	}
	r := doctor(t, bad)
	if r.code != 2 || !strings.Contains(r.stderr, "management_account_id") || !strings.Contains(r.stderr, "temporal.namespace") {
		t.Fatalf("doctor with a bad configuration: want exit status 2 listing both problems, got %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	var out, errOut bytes.Buffer
	if code := cli.Main(context.Background(), []string{"doctor", "--no-such-flag"}, &out, &errOut); code != 2 {
		t.Fatalf("doctor --no-such-flag: exit status %d, want 2: %s", code, errOut.String())
	}
}
