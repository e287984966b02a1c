package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/config"
	shippediam "github.com/trailgate/trailgate/iam"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
	"github.com/trailgate/trailgate/internal/cli"
	"github.com/trailgate/trailgate/internal/devmode/devmodetest"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/proof"
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
	env := devmodetest.Start(t)

	r := doctor(t, env.ConfigFile)
	if r.code != 1 || !strings.Contains(r.stdout, "no worker polled task queue trailgate") || !strings.Contains(r.stdout, "fix: start bin/trailgate-worker") {
		t.Fatalf("doctor without a worker: want exit status 1 and the worker check failing with its fix, got %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Doctor sends no proof: any key will do for the worker.
	key, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	devmodetest.StartWorker(t, env, key)

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

// TestDoctorNamesMissingPermission: doctor asks IAM's policy simulator
// whether each organization's role may do what the shipped policy allows,
// names what it may not, and warns when it cannot ask.
func TestDoctorNamesMissingPermission(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 50})
	staging, globex := env.Orgs[1], env.Orgs[2]
	if err := env.Sandbox.PutRolePolicy(staging.ManagementAccountID, awssandbox.DevRoleName, awssandbox.DevRolePolicyName, shippedPolicyWithout(t, "organizations:EnableAWSServiceAccess")); err != nil {
		t.Fatal(err)
	}
	if err := env.Sandbox.PutRolePolicy(globex.ManagementAccountID, awssandbox.DevRoleName, awssandbox.DevRolePolicyName, shippedPolicyWithout(t, "iam:SimulatePrincipalPolicy")); err != nil {
		t.Fatal(err)
	}

	var orgs []config.Organization
	for _, o := range env.Orgs {
		orgs = append(orgs, config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID})
	}
	report, checks := doctorInSandbox(t, env, env.Operator, orgs...)
	if c := checks["aws/acme-prod"]; !c.OK || c.Warn {
		t.Errorf("the role with the shipped policy: %+v", c)
	}
	c := checks["aws/acme-staging"]
	if c.OK || !strings.Contains(c.Detail, staging.RoleARN+" lacks organizations:EnableAWSServiceAccess") || !strings.Contains(c.Fix, "iam/trailgate-role-policy.json") {
		t.Errorf("the role without organizations:EnableAWSServiceAccess: %+v", c)
	}
	if strings.Contains(c.Detail, "DisableAWSServiceAccess") {
		t.Errorf("doctor names permissions the role has: %s", c.Detail)
	}
	if c := checks["aws/globex"]; !c.OK || !c.Warn || !strings.Contains(c.Detail, "could not check its permissions") || !strings.Contains(c.Fix, "iam:SimulatePrincipalPolicy") {
		t.Errorf("the role that may not simulate its policy: %+v", c)
	}
	if report.OK {
		t.Error("doctor's report is ok with a permission missing")
	}
}

// TestDoctorRefusesWhatPreflightRefuses checks that doctor answers through
// the management-account check of the Preflight activity: an account that
// is a member of another organization, and an organization without all
// features, each fail with what to do.
func TestDoctorRefusesWhatPreflightRefuses(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 51})
	billing, err := env.Sandbox.CreateOrganization(awssandbox.OrganizationSpec{Name: "billing", FeatureSet: "CONSOLIDATED_BILLING"})
	if err != nil {
		t.Fatal(err)
	}
	initech, err := env.Sandbox.CreateOrganization(awssandbox.OrganizationSpec{Name: "initech", Members: 1})
	if err != nil {
		t.Fatal(err)
	}
	member := initech.Members[0]
	for _, c := range []struct {
		name        string
		account     awssandbox.Account
		detail, fix string
	}{
		{"billing", billing.Management, billing.ID + " has feature set CONSOLIDATED_BILLING", "enable all features in the organization; trusted access needs them"},
		{"initech-member", member, fmt.Sprintf("account %s is a member of %s, whose management account is %s", member.ID, initech.ID, initech.Management.ID),
			fmt.Sprintf("set management_account_id to %s and reach it (role_arn) there", initech.Management.ID)},
	} {
		report, checks := doctorInSandbox(t, env, c.account, config.Organization{Name: c.name, ManagementAccountID: c.account.ID})
		got := checks["aws/"+c.name]
		if got.OK || !strings.Contains(got.Detail, c.detail) || !strings.Contains(got.Fix, c.fix) {
			t.Errorf("%s: want a failed check that says %q and %q, got %+v", c.name, c.detail, c.fix, got)
		}
		if report.OK {
			t.Errorf("%s: doctor's report is ok", c.name)
		}
	}
}

// doctorInSandbox runs doctor for orgs with the AWS sandbox of env, its
// calls signed by the default chain with the access key of account, and
// Temporal unreachable; it returns the report and its checks by name.
func doctorInSandbox(t *testing.T, env *sandboxtest.Env, account awssandbox.Account, orgs ...config.Organization) (cli.DoctorReport, map[string]cli.Check) {
	t.Helper()
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Temporal.Address = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.AWS = config.AWS{
		Region: env.Sandbox.Region(), EndpointURL: env.URL, Profile: "operator",
		ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials"),
	}
	files := map[string]string{
		cfg.AWS.ConfigFile:      "[profile operator]\nregion = " + env.Sandbox.Region() + "\n",
		cfg.AWS.CredentialsFile: "[operator]\naws_access_key_id = " + account.AccessKeyID + "\naws_secret_access_key = " + account.SecretAccessKey + "\n",
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Organizations = orgs
	report, err := cli.Doctor(context.Background(), cli.DoctorInput{Config: cfg, Timeout: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]cli.Check{}
	for _, c := range report.Checks {
		checks[c.Name] = c
	}
	return report, checks
}

// shippedPolicyWithout is iam/trailgate-role-policy.json without one action.
func shippedPolicyWithout(t *testing.T, action string) string {
	t.Helper()
	var doc struct {
		Version   string
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(shippediam.RolePolicy), &doc); err != nil {
		t.Fatal(err)
	}
	var kept []map[string]any
	for _, st := range doc.Statement {
		var left []any
		switch a := st["Action"].(type) {
		case string:
			if a != action {
				left = append(left, a)
			}
		case []any:
			for _, x := range a {
				if x != action {
					left = append(left, x)
				}
			}
		}
		if len(left) > 0 {
			st["Action"] = left
			kept = append(kept, st)
		}
	}
	doc.Statement = kept
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), `"`+action+`"`) || string(out) == shippediam.RolePolicy {
		t.Fatalf("%s is still in the policy", action)
	}
	return string(out)
}
