package awssandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailgate/trailgate/internal/awssandbox"
)

// awsCLI runs the real AWS CLI against a dev default sandbox, with nothing
// but the shared files the sandbox wrote.
type awsCLI struct {
	t    *testing.T
	bin  string
	env  *awssandbox.DevEnvironment
	base []string
}

func startCLI(t *testing.T) *awsCLI {
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the AWS CLI (aws) is not on PATH; CI installs Debian's awscli")
		}
		t.Skip("the AWS CLI (aws) is not on PATH: install Debian's awscli (apt-get install awscli) to run the CLI suite")
	}
	dir := t.TempDir()
	env, err := awssandbox.StartDev(context.Background(), filepath.Join(dir, "data"), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Close(context.Background()) })
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_CONFIG_FILE=" + env.ConfigFile,
		"AWS_SHARED_CREDENTIALS_FILE=" + env.CredentialsFile,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"LANG=C.UTF-8",
	}
	// A pyenv shim costs seconds per run and finds its interpreter through
	// the (now isolated) HOME: run the program it stands for instead.
	if strings.Contains(bin, "/.pyenv/shims/") {
		if real, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
			bin = strings.TrimSpace(string(real))
		}
	}
	return &awsCLI{t: t, bin: bin, env: env, base: base}
}

// run runs aws with a profile; --endpoint-url is passed too, since AWS CLI
// versions before 2.13 ignore endpoint_url in profiles. extraEnv overrides
// the environment.
func (c *awsCLI) run(extraEnv []string, profile string, args ...string) (string, string, error) {
	c.t.Helper()
	full := append([]string{"--profile", profile, "--endpoint-url", c.env.Endpoint, "--output", "json"}, args...)
	cmd := exec.Command(c.bin, full...)
	cmd.Env = append(append([]string{}, c.base...), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func (c *awsCLI) ok(t *testing.T, profile string, args ...string) string {
	t.Helper()
	out, errOut, err := c.run(nil, profile, args...)
	if err != nil {
		t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (c *awsCLI) fails(t *testing.T, extraEnv []string, code, profile string, args ...string) {
	t.Helper()
	out, errOut, err := c.run(extraEnv, profile, args...)
	if err == nil {
		t.Fatalf("aws %s succeeded, want %s:\n%s", strings.Join(args, " "), code, out)
	}
	if !strings.Contains(errOut, "("+code+")") {
		t.Fatalf("aws %s failed without %s:\n%s", strings.Join(args, " "), code, errOut)
	}
}

func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
}

// TestAWSCLI drives the main paths through the real AWS CLI. Each CLI run
// costs seconds, so independent paths run in parallel, each on its own
// organization.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI suite is slow; skipped with -short")
	}
	cli := startCLI(t)
	sb := cli.env.Sandbox
	prod, staging, globex := cli.env.Organizations[0], cli.env.Organizations[1], cli.env.Organizations[2]

	t.Run("trusted access as the management account", func(t *testing.T) {
		t.Parallel()
		mgmt := prod.Name + "-management"
		// The reference page's commands, with the CLI's real flag spelling.
		if out := cli.ok(t, mgmt, "organizations", "enable-aws-service-access", "--service-principal", "cloudtrail.amazonaws.com"); strings.TrimSpace(out) != "" {
			t.Fatalf("enable-aws-service-access printed %q", out)
		}
		var list struct {
			EnabledServicePrincipals []struct{ ServicePrincipal string }
		}
		decode(t, cli.ok(t, mgmt, "organizations", "list-aws-service-access-for-organization"), &list)
		if len(list.EnabledServicePrincipals) != 1 || list.EnabledServicePrincipals[0].ServicePrincipal != "cloudtrail.amazonaws.com" {
			t.Fatalf("list-aws-service-access-for-organization: %+v", list)
		}
		if out := cli.ok(t, mgmt, "organizations", "disable-aws-service-access", "--service-principal", "cloudtrail.amazonaws.com"); strings.TrimSpace(out) != "" {
			t.Fatalf("disable-aws-service-access printed %q", out)
		}
		list.EnabledServicePrincipals = nil
		decode(t, cli.ok(t, mgmt, "organizations", "list-aws-service-access-for-organization"), &list)
		if len(list.EnabledServicePrincipals) != 0 {
			t.Fatalf("still enabled: %+v", list)
		}
	})

	t.Run("member account refused", func(t *testing.T) {
		t.Parallel()
		cli.fails(t, nil, "AccessDeniedException", prod.Name+"-member-1", "organizations", "enable-aws-service-access", "--service-principal", "cloudtrail.amazonaws.com")
	})

	t.Run("organization trail with and without the bucket policy", func(t *testing.T) {
		t.Parallel()
		org := staging
		mgmt := org.Name + "-management"
		bucket := "acme-staging-cli-trail"
		trailARN := "arn:aws:cloudtrail:us-east-1:" + org.ManagementAccountID + ":trail/org-trail"
		// Set up through the SDK, which is fast; the CLI does the trail.
		if err := sb.SetTrustedAccess(org.OrganizationID, "cloudtrail.amazonaws.com", true); err != nil {
			t.Fatal(err)
		}
		sdk := newClients(sdkConfig(t, cli, org.ManagementAccountID))
		must[*s3.CreateBucketOutput](t)(sdk.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}))
		createCloudTrailRole(t, sdk)

		createTrail := []string{"cloudtrail", "create-trail", "--name", "org-trail", "--s3-bucket-name", bucket, "--is-organization-trail", "--is-multi-region-trail"}
		cli.fails(t, nil, "InsufficientS3BucketPolicyException", mgmt, createTrail...)
		policyFile := filepath.Join(t.TempDir(), "policy.json")
		if err := os.WriteFile(policyFile, []byte(orgTrailPolicy(bucket, org.ManagementAccountID, org.OrganizationID, trailARN)), 0o600); err != nil {
			t.Fatal(err)
		}
		cli.ok(t, mgmt, "s3api", "put-bucket-policy", "--bucket", bucket, "--policy", "file://"+policyFile)
		var trail struct {
			TrailARN            string
			IsOrganizationTrail bool
		}
		decode(t, cli.ok(t, mgmt, createTrail...), &trail)
		if trail.TrailARN != trailARN || !trail.IsOrganizationTrail {
			t.Fatalf("create-trail: %+v", trail)
		}
		var listed struct {
			Trails []struct{ TrailARN, Name, HomeRegion string }
		}
		decode(t, cli.ok(t, mgmt, "cloudtrail", "list-trails", "--region", "eu-west-1"), &listed)
		if len(listed.Trails) != 1 || listed.Trails[0].TrailARN != trailARN || listed.Trails[0].HomeRegion != "us-east-1" {
			t.Fatalf("list-trails from eu-west-1: %+v", listed)
		}
	})

	t.Run("sts assume-role", func(t *testing.T) {
		t.Parallel()
		var assumed struct {
			Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken string }
			AssumedRoleUser struct{ Arn string }
		}
		out := cli.ok(t, cli.env.OperatorProfile, "sts", "assume-role", "--role-arn", globex.RoleARN, "--role-session-name", "cli", "--external-id", globex.ExternalID)
		decode(t, out, &assumed)
		if !strings.HasPrefix(assumed.Credentials.AccessKeyId, "ASIA") || !strings.HasSuffix(assumed.AssumedRoleUser.Arn, ":assumed-role/TrailgateOperator/cli") {
			t.Fatalf("assume-role: %s", out)
		}
	})

	t.Run("lookup-events names the session and its source identity", func(t *testing.T) {
		t.Parallel()
		var assumed struct {
			Credentials    struct{ AccessKeyId, SecretAccessKey, SessionToken string }
			SourceIdentity string
		}
		decode(t, cli.ok(t, cli.env.OperatorProfile, "sts", "assume-role", "--role-arn", globex.RoleARN, "--role-session-name", "tg-chg-cli",
			"--external-id", globex.ExternalID, "--source-identity", "alice"), &assumed)
		if assumed.SourceIdentity != "alice" {
			t.Fatalf("assume-role --source-identity alice answered %q", assumed.SourceIdentity)
		}
		session := newClients(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(cli.env.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(assumed.Credentials.AccessKeyId, assumed.Credentials.SecretAccessKey, assumed.Credentials.SessionToken)})
		must[*organizations.DescribeOrganizationOutput](t)(session.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{}))

		var events struct {
			Events []struct{ EventName, Username, CloudTrailEvent string }
		}
		decode(t, cli.ok(t, globex.Name+"-management", "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=Username,AttributeValue=tg-chg-cli"), &events)
		if len(events.Events) != 1 || events.Events[0].EventName != "DescribeOrganization" || events.Events[0].Username != "tg-chg-cli" {
			t.Fatalf("lookup-events by Username tg-chg-cli: %+v", events.Events)
		}
		var rec struct {
			UserIdentity struct {
				SessionContext struct{ SourceIdentity string } `json:"sessionContext"`
			} `json:"userIdentity"`
		}
		decode(t, events.Events[0].CloudTrailEvent, &rec)
		if rec.UserIdentity.SessionContext.SourceIdentity != "alice" {
			t.Fatalf("the event's source identity is %q: %s", rec.UserIdentity.SessionContext.SourceIdentity, events.Events[0].CloudTrailEvent)
		}
	})

	t.Run("wrong external ID refused", func(t *testing.T) {
		t.Parallel()
		cli.fails(t, nil, "AccessDenied", cli.env.OperatorProfile, "sts", "assume-role", "--role-arn", globex.RoleARN, "--role-session-name", "cli", "--external-id", "wrong-id")
	})

	t.Run("role profile", func(t *testing.T) {
		t.Parallel()
		if !cli.readsEndpointFromProfiles(t) {
			t.Skip("this AWS CLI ignores endpoint_url in profiles (before 1.29 and 2.13), so a role profile's own STS call leaves the sandbox")
		}
		var who struct{ Arn string }
		decode(t, cli.ok(t, cli.env.RoleProfiles[2], "sts", "get-caller-identity"), &who)
		if !strings.Contains(who.Arn, ":assumed-role/TrailgateOperator/") {
			t.Fatalf("role profile is %s", who.Arn)
		}
	})

	t.Run("wrong secret rejected", func(t *testing.T) {
		t.Parallel()
		creds, err := os.ReadFile(cli.env.CredentialsFile)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := sb.Account(globex.ManagementAccountID)
		wrong := strings.Replace(string(creds), a.SecretAccessKey, "wrong"+a.SecretAccessKey[5:], 1)
		wrongFile := filepath.Join(t.TempDir(), "credentials")
		if err := os.WriteFile(wrongFile, []byte(wrong), 0o600); err != nil {
			t.Fatal(err)
		}
		cli.fails(t, []string{"AWS_SHARED_CREDENTIALS_FILE=" + wrongFile}, "InvalidSignatureException", globex.Name+"-management", "organizations", "describe-organization")
	})
}

// readsEndpointFromProfiles reports whether the CLI honours endpoint_url
// in profiles: 1.29 and later, 2.13 and later.
func (c *awsCLI) readsEndpointFromProfiles(t *testing.T) bool {
	out, err := exec.Command(c.bin, "--version").Output()
	if err != nil {
		t.Fatalf("aws --version: %v", err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(out), "aws-cli/%d.%d", &major, &minor); err != nil {
		t.Fatalf("aws --version printed %q", out)
	}
	return (major == 1 && minor >= 29) || (major == 2 && minor >= 13) || major > 2
}

// sdkConfig is an SDK configuration for a dev default account.
func sdkConfig(t *testing.T, cli *awsCLI, accountID string) aws.Config {
	t.Helper()
	a, err := cli.env.Sandbox.Account(accountID)
	if err != nil {
		t.Fatal(err)
	}
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(cli.env.Endpoint), Credentials: staticCreds(a)}
}
