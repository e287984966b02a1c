package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/exit"
)

// isolate clears every TRAILGATE_ variable for the test (empty counts as
// unset) and returns an empty working directory.
func isolate(t *testing.T) string {
	t.Helper()
	t.Setenv(config.ConfigFileEnv, "")
	for _, k := range config.Keys() {
		if k.Env != "" {
			t.Setenv(k.Env, "")
		}
	}
	return t.TempDir()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("trailgate", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var verr *config.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v, want a *config.ValidationError", err)
	}
	return verr.Problems
}

func TestLoadWithoutAnythingIsDefault(t *testing.T) {
	dir := isolate(t)
	c, err := config.Load(config.LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, config.Default()) {
		t.Errorf("Load() = %+v, want the defaults %+v", c, config.Default())
	}
}

func TestPrecedenceFlagsOverEnvOverFileOverDefaults(t *testing.T) {
	dir := isolate(t)
	writeFile(t, dir, "trailgate.yaml", `
temporal:
  address: file.example:7233
  namespace: file-ns
  task_queue: file-queue
log:
  level: debug
`)
	t.Setenv("TRAILGATE_TEMPORAL_ADDRESS", "env.example:7233")
	t.Setenv("TRAILGATE_TEMPORAL_NAMESPACE", "env-ns")

	c, err := config.Load(config.LoadOptions{
		WorkDir: dir,
		Flags:   flags(t, "--temporal-address", "flag.example:7233"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Temporal.Address = "flag.example:7233" // flag beats env and file
	want.Temporal.Namespace = "env-ns"          // env beats file
	want.Temporal.TaskQueue = "file-queue"      // file beats default
	want.Log.Level = "debug"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load() =\n%+v\nwant\n%+v", c, want)
	}
}

func TestUnchangedFlagsDoNotOverride(t *testing.T) {
	dir := isolate(t)
	t.Setenv("TRAILGATE_LOG_FORMAT", "json")
	c, err := config.Load(config.LoadOptions{WorkDir: dir, Flags: flags(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Format != "json" {
		t.Errorf("log.format = %q, want json from the environment (the flag was not given)", c.Log.Format)
	}
}

func TestEnvironmentVariables(t *testing.T) {
	dir := isolate(t)
	env := map[string]string{
		"TRAILGATE_TEMPORAL_TASK_QUEUE":         "rollouts",
		"TRAILGATE_TEMPORAL_TLS_CERT_FILE":      "/certs/client.pem",
		"TRAILGATE_TEMPORAL_TLS_KEY_FILE":       "/certs/client.key",
		"TRAILGATE_TEMPORAL_TLS_SERVER_NAME":    "ns.acct.tmprl.cloud",
		"TRAILGATE_TEMPORAL_API_KEY":            "secret",
		"TRAILGATE_AWS_REGION":                  "eu-west-1",
		"TRAILGATE_AWS_ENDPOINT_URL":            "http://127.0.0.1:4566",
		"TRAILGATE_TRAIL_NAME":                  "org-trail",
		"TRAILGATE_TRAIL_BUCKET":                "org-trail-logs",
		"TRAILGATE_TRAIL_MULTI_REGION":          "false",
		"TRAILGATE_APPROVALS_REQUIRED":          "2",
		"TRAILGATE_APPROVALS_APPROVERS":         "alice, bob,carol",
		"TRAILGATE_APPROVALS_CLOUDTRAIL_ADMINS": "dana",
		"TRAILGATE_APPROVALS_TIMEOUT":           "72h",
		"TRAILGATE_APPROVALS_REMINDER_EVERY":    "30m",
		"TRAILGATE_APPROVALS_WEBHOOK_URL":       "https://hooks.example/trailgate",
		"TRAILGATE_METRICS_ADDRESS":             "0.0.0.0:9090",
		"TRAILGATE_DEV_UI_PORT":                 "18233",
		"TRAILGATE_ORGANIZATIONS":               `[{"name": "prod", "management_account_id": "012345678901", "role_arn": "arn:aws:iam::012345678901:role/Trailgate", "external_id": "xyz-1"}]`,
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err := config.Load(config.LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Temporal.TaskQueue = "rollouts"
	want.Temporal.TLS = config.TLS{CertFile: "/certs/client.pem", KeyFile: "/certs/client.key", ServerName: "ns.acct.tmprl.cloud"}
	want.Temporal.APIKey = "secret"
	want.AWS.Region = "eu-west-1"
	want.AWS.EndpointURL = "http://127.0.0.1:4566"
	want.Trail.Name = "org-trail"
	want.Trail.Bucket = "org-trail-logs"
	want.Trail.MultiRegion = false
	want.Approvals.Required = 2
	want.Approvals.Approvers = []string{"alice", "bob", "carol"}
	want.Approvals.CloudTrailAdmins = []string{"dana"}
	want.Approvals.Timeout = 72 * time.Hour
	want.Approvals.ReminderEvery = 30 * time.Minute
	want.Approvals.WebhookURL = "https://hooks.example/trailgate"
	want.Metrics.Address = "0.0.0.0:9090"
	want.Dev.UIPort = 18233
	want.Organizations = []config.Organization{{
		Name: "prod", ManagementAccountID: "012345678901",
		RoleARN: "arn:aws:iam::012345678901:role/Trailgate", ExternalID: "xyz-1",
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load() =\n%+v\nwant\n%+v", c, want)
	}
}

func TestEveryKeyHasItsEnvironmentVariable(t *testing.T) {
	for _, k := range config.Keys() {
		want := "TRAILGATE_" + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_"))
		if strings.Contains(k.Name, "[]") {
			want = "" // the list's variable sets its entries
		}
		if k.Env != want {
			t.Errorf("key %s: env %q, want %q", k.Name, k.Env, want)
		}
	}
}

func TestConfigFileChoice(t *testing.T) {
	dir := isolate(t)
	local := writeFile(t, dir, "trailgate.yaml", "temporal:\n  namespace: from-workdir\n")
	viaEnv := writeFile(t, dir, "env.yaml", "temporal:\n  namespace: from-env-file\n")
	viaFlag := writeFile(t, dir, "flag.yml", "temporal:\n  namespace: from-flag-file\n")
	_ = local

	load := func(fs *pflag.FlagSet) string {
		t.Helper()
		c, err := config.Load(config.LoadOptions{WorkDir: dir, Flags: fs})
		if err != nil {
			t.Fatal(err)
		}
		return c.Temporal.Namespace
	}
	if got := load(nil); got != "from-workdir" {
		t.Errorf("without --config or %s: namespace %q, want from-workdir", config.ConfigFileEnv, got)
	}
	t.Setenv(config.ConfigFileEnv, viaEnv)
	if got := load(nil); got != "from-env-file" {
		t.Errorf("with %s: namespace %q, want from-env-file", config.ConfigFileEnv, got)
	}
	if got := load(flags(t, "--config", viaFlag)); got != "from-flag-file" {
		t.Errorf("with --config: namespace %q, want from-flag-file", got)
	}
}

func TestNamedFileMissing(t *testing.T) {
	dir := isolate(t)
	missing := filepath.Join(dir, "nope.yaml")
	_, err := config.Load(config.LoadOptions{WorkDir: dir, Flags: flags(t, "--config", missing)})
	ps := problems(t, err)
	if len(ps) != 1 || !strings.Contains(ps[0], missing) || !strings.Contains(ps[0], "no such file") {
		t.Errorf("problems = %q, want one saying %s does not exist", ps, missing)
	}
}

func TestUnknownKeysNameTheKeyAndTheFile(t *testing.T) {
	dir := isolate(t)
	path := writeFile(t, dir, "trailgate.yaml", `temporal:
  adress: 10.0.0.1:7233
colour: blue
organizations:
  - name: prod
    management_account_id: "012345678901"
    rol_arn: arn:aws:iam::012345678901:role/Trailgate
`)
	_, err := config.Load(config.LoadOptions{WorkDir: dir})
	ps := problems(t, err)
	want := []string{
		path + `:2: unknown key "temporal.adress" (did you mean "temporal.address"?)`,
		path + `:3: unknown key "colour"`,
		path + `:7: unknown key "rol_arn" in organizations[0] (did you mean "role_arn"?)`,
	}
	if len(ps) != len(want) {
		t.Fatalf("problems = %q, want %d", ps, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, ps[i], w)
		}
	}
}

func TestUnknownKeyInOrganizationsFromEnvironment(t *testing.T) {
	dir := isolate(t)
	t.Setenv("TRAILGATE_ORGANIZATIONS", `[{name: prod, management_account_id: "012345678901", region: us-east-1}]`)
	_, err := config.Load(config.LoadOptions{WorkDir: dir})
	ps := problems(t, err)
	if len(ps) != 1 || !strings.Contains(ps[0], `TRAILGATE_ORGANIZATIONS`) || !strings.Contains(ps[0], `unknown key "region"`) {
		t.Errorf("problems = %q, want one naming TRAILGATE_ORGANIZATIONS and region", ps)
	}
}

// The acceptance case: one run reports all three problems, with exit status 2.
func TestUnknownKeyBadAccountAndMissingNamespaceReportedTogether(t *testing.T) {
	dir := isolate(t)
	path := writeFile(t, dir, "trailgate.yaml", `temporal:
  namespace: ""
  adress: 127.0.0.1:7233
organizations:
  - name: prod
    management_account_id: "12345"
`)
	_, err := config.Load(config.LoadOptions{Flags: flags(t, "--config", path)})
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	if got := exit.Code(err); got != exit.Usage || exit.Usage != 2 {
		t.Errorf("exit.Code = %d, want %d (2)", got, exit.Usage)
	}
	ps := problems(t, err)
	if len(ps) != 3 {
		t.Fatalf("got %d problems, want 3:\n%s", len(ps), err)
	}
	msg := err.Error()
	for _, want := range []string{
		path + `:3: unknown key "temporal.adress"`,
		`organizations[0] (prod): management_account_id "12345" is not a 12-digit AWS account ID`,
		`temporal.namespace is empty`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
	if lines := strings.Split(msg, "\n"); len(lines) != 4 {
		t.Errorf("error has %d lines, want a heading and one line per problem:\n%s", len(lines), msg)
	}
}

func TestDurationsAndTypesFromTheFile(t *testing.T) {
	dir := isolate(t)
	writeFile(t, dir, "trailgate.yaml", `approvals:
  timeout: 168h
  reminder_every: 30m
  approvers: [alice, bob]
dev:
  ui_port: 9233
trail:
  log_file_validation: false
`)
	c, err := config.Load(config.LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Approvals.Timeout != 168*time.Hour || c.Approvals.ReminderEvery != 30*time.Minute {
		t.Errorf("timeout %s, reminder_every %s; want 168h0m0s and 30m0s", c.Approvals.Timeout, c.Approvals.ReminderEvery)
	}
	if !reflect.DeepEqual(c.Approvals.Approvers, []string{"alice", "bob"}) || c.Dev.UIPort != 9233 || c.Trail.LogFileValidation {
		t.Errorf("got approvers %q, ui_port %d, log_file_validation %v", c.Approvals.Approvers, c.Dev.UIPort, c.Trail.LogFileValidation)
	}
}

func TestBadValuesSayWhereTheyCameFrom(t *testing.T) {
	dir := isolate(t)
	path := writeFile(t, dir, "trailgate.yaml", "approvals:\n  timeout: 3600\n")
	t.Setenv("TRAILGATE_DEV_UI_PORT", "eighty")
	_, err := config.Load(config.LoadOptions{WorkDir: dir})
	msg := err.Error()
	for _, want := range []string{
		path + `: approvals.timeout is the bare number 3600; write a duration with its unit`,
		`TRAILGATE_DEV_UI_PORT: dev.ui_port is "eighty", not a whole number`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
}

func TestFlagsAMainAddsAreBoundByName(t *testing.T) {
	dir := isolate(t)
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	fs.String("metrics-address", "", "Prometheus endpoint")
	fs.Int("dev-ui-port", 8233, "UI port")
	if err := fs.Parse([]string{"--metrics-address=127.0.0.1:9090", "--dev-ui-port=9000", "--log-format=json"}); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(config.LoadOptions{WorkDir: dir, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Address != "127.0.0.1:9090" || c.Dev.UIPort != 9000 || c.Log.Format != "json" {
		t.Errorf("metrics.address %q, dev.ui_port %d, log.format %q", c.Metrics.Address, c.Dev.UIPort, c.Log.Format)
	}
}

func TestRegisterFlagsNames(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	for _, name := range []string{"config", "temporal-address", "temporal-namespace", "temporal-task-queue", "log-level", "log-format", "aws-region", "aws-endpoint-url"} {
		if fs.Lookup(name) == nil {
			t.Errorf("RegisterFlags did not add --%s", name)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := config.Default()
	c.Temporal.Address = "no-port"
	c.Temporal.Namespace = ""
	c.Temporal.TaskQueue = ""
	c.Temporal.TLS.CertFile = "/certs/client.pem"
	c.AWS.EndpointURL = "ftp://sandbox"
	c.Organizations = []config.Organization{
		{Name: "prod", ManagementAccountID: "0123456789"},
		{Name: "prod", ManagementAccountID: "111111111111", RoleARN: "arn:aws:iam::222222222222:role/X"},
		{Name: "a/b", ManagementAccountID: "333333333333", RoleARN: "not-an-arn"},
		{Name: "dev", ManagementAccountID: "444444444444", ExternalID: "xyz"},
	}
	c.Approvals.Required = 3
	c.Approvals.Approvers = []string{"alice", "bob"}
	c.Approvals.Timeout = time.Hour
	c.Approvals.ReminderEvery = 2 * time.Hour
	c.Approvals.WebhookURL = "hooks.example/x"
	c.Log.Level = "loud"
	c.Log.Format = "xml"
	c.Dev.TemporalPort = 70000
	c.Dev.UIPort = 0

	err := c.Validate()
	if exit.Code(err) != exit.Usage {
		t.Fatalf("exit.Code(%v) != exit.Usage", err)
	}
	msg := err.Error()
	want := []string{
		`temporal.address "no-port" is not host:port`,
		`temporal.namespace is empty`,
		`temporal.task_queue is empty`,
		`temporal.tls.cert_file is set without temporal.tls.key_file`,
		`aws.endpoint_url "ftp://sandbox" is not an http or https URL`,
		`organizations[0] (prod): management_account_id "0123456789" is not a 12-digit AWS account ID`,
		`organizations[1] (prod): name "prod" is already used by organizations[0]`,
		`organizations[1] (prod): role_arn is in account 222222222222 but the management account is 111111111111`,
		`organizations[2] (a/b): name "a/b" cannot name workflows`,
		`organizations[2] (a/b): role_arn "not-an-arn" is not an IAM role ARN`,
		`organizations[3] (dev): external_id is set without role_arn`,
		`approvals.required is 3 but only 2 approvers are listed`,
		`approvals.reminder_every (2h0m0s) is longer than approvals.timeout (1h0m0s)`,
		`approvals.webhook_url "hooks.example/x" is not an http or https URL`,
		`log.level "loud" is not a log level`,
		`log.format "xml" is not a log format`,
		`dev.temporal_port is 70000`,
		`dev.ui_port is 0`,
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("Validate does not say %q", w)
		}
	}
	if got := len(problems(t, err)); got != len(want) {
		t.Errorf("Validate reported %d problems, want %d:\n%s", got, len(want), msg)
	}
}

func TestValidateMoreProblems(t *testing.T) {
	c := config.Default()
	c.Temporal.TLS.KeyFile = "/certs/client.key"
	c.Approvals.Required = 0
	c.Approvals.Timeout = 0
	c.Approvals.ReminderEvery = -time.Minute
	c.Dev.SandboxPort = c.Dev.UIPort
	msg := c.Validate().Error()
	for _, w := range []string{
		`temporal.tls.key_file is set without temporal.tls.cert_file`,
		`approvals.required is 0`,
		`approvals.timeout is 0s`,
		`approvals.reminder_every is -1m0s`,
		`dev.sandbox_port is 8233, the same as dev.ui_port`,
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("Validate does not say %q:\n%s", w, msg)
		}
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := config.Default().Validate(); err != nil {
		t.Fatal(err)
	}
	if exit.Code(nil) != 0 || exit.Code(errors.New("dial failed")) != 1 {
		t.Error("exit.Code: want 0 for nil and 1 for other errors")
	}
}

func TestWriteFileRoundTrip(t *testing.T) {
	dir := isolate(t)
	c := config.Default()
	c.Temporal.Address = "ns.acct.tmprl.cloud:7233"
	c.Temporal.Namespace = "ns.acct"
	c.Temporal.TLS = config.TLS{CertFile: "/c.pem", KeyFile: "/c.key", CAFile: "/ca.pem", ServerName: "ns.acct.tmprl.cloud"}
	c.Temporal.APIKey = "key"
	c.AWS.EndpointURL = "http://127.0.0.1:4566"
	c.AWS.Profile = "ops"
	c.Organizations = []config.Organization{
		{Name: "prod", ManagementAccountID: "012345678901", RoleARN: "arn:aws:iam::012345678901:role/Trailgate", ExternalID: "ext-1"},
		{Name: "sandbox", ManagementAccountID: "000000000001"},
	}
	c.People = []config.Person{
		{Name: "alice", Principals: []string{"arn:aws:iam::012345678901:user/alice"}},
		{Name: "bob", Principals: []string{"arn:aws:sts::012345678901:assumed-role/AWSReservedSSO_Approvers_*/bob", "arn:aws:iam::000000000001:user/bob"}},
		{Name: "carol", Principals: []string{"arn:aws:iam::012345678901:role/CloudTrailAdmin"}},
	}
	c.Identity = config.Identity{AllowClaims: true, ProofKeyFile: "/var/lib/trailgate/proof.key", WorkerKey: "tgk1:AAAA", STSEndpoint: "http://127.0.0.1:4566"}
	c.Trail = config.Trail{Name: "org-trail", Bucket: "org-trail-logs", MultiRegion: false, LogFileValidation: true, KMSKeyID: "alias/trail"}
	c.Approvals.Required = 2
	c.Approvals.Approvers = []string{"alice", "bob"}
	c.Approvals.CloudTrailAdmins = []string{"carol"}
	c.Approvals.Timeout = 36*time.Hour + 30*time.Minute
	c.Approvals.ReminderEvery = 90 * time.Minute
	c.Approvals.WebhookURL = "https://hooks.example/x"
	c.Metrics.Address = "127.0.0.1:9090"
	c.Log = config.Log{Level: "debug", Format: "json"}
	c.Dev.DataDir = "/var/lib/trailgate"

	for name, want := range map[string]config.Config{"full": c, "default": config.Default()} {
		path := filepath.Join(dir, name, ".trailgate", "trailgate.yaml")
		if err := config.WriteFile(path, want); err != nil {
			t.Fatal(err)
		}
		got, err := config.Load(config.LoadOptions{Flags: flags(t, "--config", path)})
		if err != nil {
			t.Fatalf("%s: load what WriteFile wrote: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip =\n%+v\nwant\n%+v", name, got, want)
		}
		entries, err := os.ReadDir(filepath.Dir(path))
		if err != nil || len(entries) != 1 {
			t.Errorf("%s: directory holds %v (%v), want only trailgate.yaml", name, entries, err)
		}
	}
}

func TestValidateRegionsProbesAndDelegatedAdministrators(t *testing.T) {
	c := config.Default()
	c.AWS.Regions = []string{"eu-west-1", "Frankfurt", "eu-west-1"}
	c.Trail.DelegatedAdministrators = []string{"111111111111", "222222222222", "333333333333", "44"}
	c.Organizations = []config.Organization{
		{Name: "prod", ManagementAccountID: "123456789012", ProbeAccountID: "123456789012", DelegatedAdministrators: []string{"555555555555", "555555555555"}},
		{Name: "dev", ManagementAccountID: "210987654321", ProbeRoleName: "Reader"},
		{Name: "test", ManagementAccountID: "999999999999", ProbeAccountID: "111111111111", ProbeRoleName: "bad role"},
	}
	msg := c.Validate().Error()
	for _, w := range []string{
		`aws.regions lists "Frankfurt", which is not an AWS region name`,
		`aws.regions lists "eu-west-1" twice`,
		`trail.delegated_administrators lists 4 accounts; AWS allows CloudTrail at most 3`,
		`trail.delegated_administrators lists "44", which is not a 12-digit AWS account ID`,
		`organizations[0] (prod): probe_account_id is the management account`,
		`organizations[0] (prod): delegated_administrators lists "555555555555" twice`,
		`organizations[1] (dev): probe_role_name is set without probe_account_id`,
		`organizations[2] (test): probe_role_name "bad role" is not an IAM role name`,
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("Validate does not say %q:\n%s", w, msg)
		}
	}
	if got, want := c.Organizations[2].ProbeRole(), "arn:aws:iam::111111111111:role/bad role"; got != want {
		t.Errorf("ProbeRole = %q, want %q", got, want)
	}
	if got := (config.Organization{ProbeAccountID: "111111111111"}).ProbeRole(); got != "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole" {
		t.Errorf("the default probe role is %q", got)
	}
	if got := c.Trail.DelegatedAdministratorsOf(c.Organizations[1]); len(got) != 4 {
		t.Errorf("an organization without its own list takes trail.delegated_administrators, got %v", got)
	}
	if got := c.Trail.DelegatedAdministratorsOf(c.Organizations[0]); got[0] != "555555555555" {
		t.Errorf("an organization's own list wins, got %v", got)
	}
}

// temporal.compression is gzip unless set; a value that is neither gzip
// nor none is refused, saying which are.
func TestTemporalCompression(t *testing.T) {
	dir := isolate(t)
	c, err := config.Load(config.LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Compression != config.CompressionGzip {
		t.Errorf("temporal.compression defaults to %q, want gzip", c.Temporal.Compression)
	}
	t.Setenv("TRAILGATE_TEMPORAL_COMPRESSION", "none")
	if c, err = config.Load(config.LoadOptions{WorkDir: dir}); err != nil || c.Temporal.Compression != config.CompressionNone {
		t.Errorf("TRAILGATE_TEMPORAL_COMPRESSION=none gives %q, %v", c.Temporal.Compression, err)
	}
	t.Setenv("TRAILGATE_TEMPORAL_COMPRESSION", "zstd")
	_, err = config.Load(config.LoadOptions{WorkDir: dir})
	if err == nil || !strings.Contains(err.Error(), `temporal.compression is "zstd"; set gzip`) || !strings.Contains(err.Error(), "or none") {
		t.Errorf("an unknown compression is not refused clearly: %v", err)
	}
}
