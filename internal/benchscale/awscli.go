package benchscale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/trailgate/trailgate/internal/awssandbox"
)

// enableScript is the enable path as a careful script would run it with
// the AWS CLI, one organization after another, as the operator's role in
// each management account: who am I, is the organization ready, is trusted
// access on, turn it on with CloudTrail's service-linked role, check it is; with the trail, a bucket whose policy
// lets CloudTrail write, the organization trail, logging on, and a check.
func enableScript(org awssandbox.DevOrganization, trail bool) [][]string {
	steps := [][]string{
		{"sts", "get-caller-identity"},
		{"organizations", "describe-organization"},
		{"organizations", "list-aws-service-access-for-organization"},
		{"organizations", "enable-aws-service-access", "--service-principal", "cloudtrail.amazonaws.com"},
		{"iam", "create-service-linked-role", "--aws-service-name", "cloudtrail.amazonaws.com"},
		{"organizations", "list-aws-service-access-for-organization"},
	}
	if !trail {
		return steps
	}
	bucket := "bench-trail-" + org.ManagementAccountID
	trailARN := "arn:aws:cloudtrail:us-east-1:" + org.ManagementAccountID + ":trail/bench-trail"
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[`+
		`{"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::%[1]s","Condition":{"StringEquals":{"aws:SourceArn":"%[2]s"}}},`+
		`{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::%[1]s/AWSLogs/%[3]s/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":"%[2]s"}}},`+
		`{"Sid":"AWSCloudTrailOrganizationWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::%[1]s/AWSLogs/%[4]s/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":"%[2]s"}}}]}`,
		bucket, trailARN, org.ManagementAccountID, org.OrganizationID)
	return append(steps,
		[]string{"s3api", "create-bucket", "--bucket", bucket},
		[]string{"s3api", "put-bucket-policy", "--bucket", bucket, "--policy", policy},
		[]string{"cloudtrail", "create-trail", "--name", "bench-trail", "--s3-bucket-name", bucket, "--is-organization-trail", "--is-multi-region-trail", "--enable-log-file-validation"},
		[]string{"cloudtrail", "start-logging", "--name", "bench-trail"},
		[]string{"cloudtrail", "get-trail-status", "--name", "bench-trail"},
	)
}

// RunAWSCLI measures the sequential AWS CLI script of the enable path over
// measured organizations of a fresh sandbox, and scales its wall time to
// each of ns.
func RunAWSCLI(ctx context.Context, measured int, trail bool, ns []int, log io.Writer) ([]Row, error) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		return nil, errors.New("the AWS CLI (aws) is not on PATH: install it (Debian: apt-get install awscli) to measure the baseline")
	}
	dir, err := os.MkdirTemp("", "trailgate-bench-awscli-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env, err := awssandbox.StartDevOf(ctx, dir, "127.0.0.1:0", measured)
	if err != nil {
		return nil, err
	}
	defer func() { _ = env.Close(context.Background()) }()

	calls := 0
	start := time.Now()
	var perOrg []time.Duration
	for _, org := range env.Organizations {
		began := time.Now()
		for _, step := range enableScript(org, trail) {
			cmd := exec.CommandContext(ctx, aws, append(step, "--profile", org.Name+"-"+strings.ToLower(awssandbox.DevRoleName), "--endpoint-url", env.Endpoint, "--region", "us-east-1", "--output", "json")...)
			cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+env.ConfigFile, "AWS_SHARED_CREDENTIALS_FILE="+env.CredentialsFile, "AWS_PAGER=", "HOME="+dir)
			var stderr strings.Builder
			cmd.Stdout, cmd.Stderr = io.Discard, &stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("aws %s for %s: %w: %s", strings.Join(step[:2], " "), org.Name, err, strings.TrimSpace(stderr.String()))
			}
			calls++
		}
		perOrg = append(perOrg, time.Since(began))
	}
	wall := time.Since(start)
	rows := make([]Row, 0, len(ns))
	for _, n := range ns {
		scale := float64(n) / float64(measured)
		rows = append(rows, Row{
			Name: "aws-cli", N: n, Trail: trail, Wall: time.Duration(float64(wall) * scale), PerOrg: perOrg,
			Scaled: n != measured,
			Note:   fmt.Sprintf("measured at n=%d: %d calls, %.2f s a call", measured, calls, wall.Seconds()/float64(calls)),
		})
	}
	return rows, nil
}
