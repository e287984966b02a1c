package devmode_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/internal/devmode/devmodetest"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/proof"
)

// load loads the configuration file at path as the worker and the CLI do
// when TRAILGATE_CONFIG names it.
func load(t *testing.T, path string) config.Config {
	t.Helper()
	t.Setenv(config.ConfigFileEnv, path)
	cfg, err := config.Load(config.LoadOptions{})
	if err != nil {
		t.Fatalf("load the written configuration %s: %v", path, err)
	}
	return cfg
}

func TestDevDefaultWritesItsConfigurationAndKeepsItAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal's server and the AWS sandbox twice")
	}
	ctx := t.Context()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := devmodetest.Config(t)

	env, err := devmode.Start(ctx, cfg, quiet)
	if err != nil {
		t.Fatalf("start the dev default: %v", err)
	}
	if env.ConfigFile != filepath.Join(cfg.Dev.DataDir, devmode.ConfigFileName) {
		t.Errorf("configuration written to %s, want it in the data directory", env.ConfigFile)
	}
	written := load(t, env.ConfigFile)
	if !reflect.DeepEqual(written, env.Config) {
		t.Fatalf("the written configuration does not load back as the worker's:\nwritten %+v\nworker  %+v", written, env.Config)
	}

	c := written
	if len(c.Organizations) < 3 {
		t.Fatalf("want the sandbox's organizations, got %+v", c.Organizations)
	}
	for _, o := range c.Organizations {
		if o.RoleARN == "" || o.ExternalID == "" || !strings.Contains(o.RoleARN, o.ManagementAccountID) {
			t.Errorf("organization %+v is not reached through a role in its management account", o)
		}
	}
	if c.AWS.EndpointURL != env.AWS.Endpoint || c.AWS.Profile != env.AWS.OperatorProfile {
		t.Errorf("AWS %+v does not point at the sandbox %s with the operator profile", c.AWS, env.AWS.Endpoint)
	}
	for _, f := range []string{c.AWS.ConfigFile, c.AWS.CredentialsFile} {
		if _, err := os.Stat(f); err != nil || !filepath.IsAbs(f) {
			t.Errorf("AWS shared file %q: absolute %v, %v", f, filepath.IsAbs(f), err)
		}
	}
	if c.Temporal.Address != env.Temporal.FrontendAddress() || c.Temporal.UIURL != env.Temporal.UIURL() {
		t.Errorf("Temporal %+v does not point at the embedded server", c.Temporal)
	}
	if got := strings.Join(c.Approvals.Approvers, ","); got != "alice,bob" || c.Approvals.Required != 2 ||
		strings.Join(c.Approvals.CloudTrailAdmins, ",") != "carol" {
		t.Errorf("approvals %+v are not the demo's people", c.Approvals)
	}
	if len(c.People) != 4 || c.Identity.AllowClaims || c.Identity.ProofKeyFile != filepath.Join(cfg.Dev.DataDir, devmode.ProofKeyFileName) {
		t.Errorf("people %+v, identity %+v: want the demo's people proven by their sandbox users, no claims, the key in the data directory", c.People, c.Identity)
	}
	for _, p := range c.People {
		if len(p.Principals) != 1 || !strings.HasSuffix(p.Principals[0], ":user/"+p.Name) {
			t.Errorf("person %+v is not proven by the sandbox user of their name", p)
		}
	}
	if err := c.ValidateWorker(); err != nil {
		t.Errorf("the dev default's configuration is not valid for a worker: %v", err)
	}
	key, err := proof.LoadOrCreateKey(c.Identity.ProofKeyFile)
	if err != nil || key.Public().String() != c.Identity.WorkerKey {
		t.Errorf("identity.worker_key %q is not the public half of the key in %s (%v)", c.Identity.WorkerKey, c.Identity.ProofKeyFile, err)
	}
	if c.Trail.Name != devmode.DemoTrailName {
		t.Errorf("trail %+v is not the managed demo trail", c.Trail)
	}
	for _, o := range c.Organizations {
		if b := c.Trail.BucketFor(o); !strings.Contains(b, o.ManagementAccountID) {
			t.Errorf("organization %s logs to bucket %s, not one of its management account", o.Name, b)
		}
	}

	var banner bytes.Buffer
	env.WriteBanner(&banner)
	for _, want := range []string{c.Temporal.Address, c.Temporal.UIURL, c.AWS.EndpointURL, "AWS_CONFIG_FILE=", "AWS_SHARED_CREDENTIALS_FILE=",
		"organizations describe-organization", "doctor", "whoami --profile alice", "--profile " + devmode.DemoRequester} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner does not say %q:\n%s", want, banner.String())
		}
	}

	if err := env.Close(ctx); err != nil {
		t.Fatalf("stop the dev default: %v", err)
	}
	again, err := devmode.Start(ctx, cfg, quiet)
	if err != nil {
		t.Fatalf("start the dev default again: %v", err)
	}
	defer again.Close(context.Background())
	if again.Config.Identity.WorkerKey != c.Identity.WorkerKey {
		t.Errorf("the worker's proof key changed across a restart: proofs sealed before it could not be opened")
	}
	if !reflect.DeepEqual(again.Config.Organizations, c.Organizations) {
		t.Fatalf("organizations changed across a restart:\nbefore %+v\nafter  %+v", c.Organizations, again.Config.Organizations)
	}
}

func TestBusySandboxPortStopsBeforeAnythingStarts(t *testing.T) {
	cfg := devmodetest.Config(t)
	busy, err := net.Listen("tcp", net.JoinHostPort(devmode.Host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg.Dev.SandboxPort = busy.Addr().(*net.TCPAddr).Port

	_, err = devmode.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var inUse *devserver.PortInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("start with the sandbox port taken: got %v, want a port-in-use error", err)
	}
	for _, want := range []string{"AWS sandbox", "dev.sandbox_port", "--dev-sandbox-port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.Dev.DataDir, devserver.DatabaseFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Temporal's database was created although the dev default could not start: %v", err)
	}
}

func TestEffectiveKeepsTheUsersPeopleAndTrail(t *testing.T) {
	cfg := config.Default()
	cfg.Approvals.Approvers = []string{"erin"}
	cfg.Approvals.Required = 1
	cfg.Approvals.CloudTrailAdmins = []string{"frank"}
	cfg.Trail.Name, cfg.Trail.Bucket = "audit", "audit-logs"
	cfg.Temporal.APIKey = "from-production"
	cfg.Temporal.Compression = config.CompressionGzip

	got := devmode.Effective(cfg, "/data", "127.0.0.1:7233", "http://127.0.0.1:8233", nil)
	if strings.Join(got.Approvals.Approvers, ",") != "erin" || got.Approvals.Required != 1 || got.Approvals.CloudTrailAdmins[0] != "frank" {
		t.Errorf("approvals %+v: the user's people were replaced", got.Approvals)
	}
	if got.Trail.Name != "audit" || got.Trail.Bucket != "audit-logs" {
		t.Errorf("trail %+v: the user's trail was replaced", got.Trail)
	}
	if got.Temporal.APIKey != "" {
		t.Error("the embedded Temporal would be sent an API key meant for another cluster")
	}
	if got.Temporal.Compression != config.CompressionNone {
		t.Errorf("the embedded Temporal, in the same process, is called with compression %q", got.Temporal.Compression)
	}
}

// In the embedded default each organization's first member account is the
// member-account probe and CloudTrail's delegated administrator, and the
// inventory reads two regions; aws.regions the user sets are kept.
func TestEffectiveProbesAndDelegatesTheFirstMemberOfEachOrganization(t *testing.T) {
	sandbox := &awssandbox.DevEnvironment{Endpoint: "http://127.0.0.1:4566", Organizations: []awssandbox.DevOrganization{
		{Name: "acme-prod", ManagementAccountID: "111111111111", MemberAccountIDs: []string{"222222222222", "333333333333"},
			RoleARN: "arn:aws:iam::111111111111:role/TrailgateOperator", ExternalID: "x"},
		{Name: "lonely", ManagementAccountID: "444444444444", RoleARN: "arn:aws:iam::444444444444:role/TrailgateOperator", ExternalID: "y"},
	}}
	got := devmode.Effective(config.Default(), "/data", "127.0.0.1:7233", "http://127.0.0.1:8233", sandbox)
	prod, lonely := got.Organizations[0], got.Organizations[1]
	if prod.ProbeRole() != "arn:aws:iam::222222222222:role/"+config.DefaultProbeRoleName || strings.Join(prod.DelegatedAdministrators, ",") != "222222222222" {
		t.Errorf("acme-prod: probe %q, delegated administrators %v; want its first member account for both", prod.ProbeRole(), prod.DelegatedAdministrators)
	}
	if lonely.ProbeRole() != "" || len(lonely.DelegatedAdministrators) != 0 {
		t.Errorf("an organization without members: probe %q, delegated administrators %v", lonely.ProbeRole(), lonely.DelegatedAdministrators)
	}
	if strings.Join(got.AWS.Regions, ",") != "us-east-1,eu-west-1" {
		t.Errorf("aws.regions %v; want us-east-1 and eu-west-1", got.AWS.Regions)
	}
	cfg := config.Default()
	cfg.AWS.Regions = []string{"us-east-1", "ap-southeast-2"}
	if got := devmode.Effective(cfg, "/data", "", "", sandbox); strings.Join(got.AWS.Regions, ",") != "us-east-1,ap-southeast-2" {
		t.Errorf("the user's aws.regions became %v", got.AWS.Regions)
	}
}
