package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.temporal.io/sdk/temporal"

	shippediam "github.com/trailgate/trailgate/iam"
	"github.com/trailgate/trailgate/internal/awsclient"
)

// policyStatement is one statement of an S3 bucket policy. Action and
// Resource may be a string or a list in JSON; both are read.
type policyStatement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal any            `json:"Principal"`
	Action    stringOrList   `json:"Action"`
	Resource  stringOrList   `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

type bucketPolicy struct {
	Statement statementList `json:"Statement"`
}

// A policy's Statement may be one object or a list, and a statement's
// Action and Resource one string or a list.
type (
	statementList = shippediam.OneOrMany[policyStatement]
	stringOrList  = shippediam.OneOrMany[string]
)

// organizationTrailStatements are the three statements an organization
// trail's bucket needs: CloudTrail may read the bucket ACL, and write log
// files under the management account's and the organization's prefixes, each
// only for this trail.
func organizationTrailStatements(bucket, mgmt, orgID, trailARN string) []policyStatement {
	principal := map[string]any{"Service": ServicePrincipal}
	source := map[string]any{"aws:SourceArn": trailARN}
	write := func(sid, prefix string) policyStatement {
		return policyStatement{
			Sid:       sid,
			Effect:    "Allow",
			Principal: principal,
			Action:    stringOrList{"s3:PutObject"},
			Resource:  stringOrList{fmt.Sprintf("arn:aws:s3:::%s/AWSLogs/%s/*", bucket, prefix)},
			Condition: map[string]any{"StringEquals": map[string]any{
				"s3:x-amz-acl":  "bucket-owner-full-control",
				"aws:SourceArn": trailARN,
			}},
		}
	}
	return []policyStatement{
		{
			Sid:       "AWSCloudTrailAclCheck",
			Effect:    "Allow",
			Principal: principal,
			Action:    stringOrList{"s3:GetBucketAcl"},
			Resource:  stringOrList{"arn:aws:s3:::" + bucket},
			Condition: map[string]any{"StringEquals": source},
		},
		write("AWSCloudTrailWrite", mgmt),
		write("AWSCloudTrailOrganizationWrite", orgID),
	}
}

// missingStatements returns the required statements that the policy does not
// grant. A statement counts as granted when one of the policy's statements
// allows the same action on the same resource for the same trail; Sids and
// the order of elements do not matter.
func missingStatements(policy string, required []policyStatement) ([]policyStatement, error) {
	var p bucketPolicy
	if policy != "" {
		if err := json.Unmarshal([]byte(policy), &p); err != nil {
			return nil, fmt.Errorf("read bucket policy: %w", err)
		}
	}
	var missing []policyStatement
	for _, want := range required {
		if !slices.ContainsFunc(p.Statement, func(have policyStatement) bool { return grants(have, want) }) {
			missing = append(missing, want)
		}
	}
	return missing, nil
}

func grants(have, want policyStatement) bool {
	if have.Effect != "Allow" || !containsAll(have.Action, want.Action) || !containsAll(have.Resource, want.Resource) {
		return false
	}
	return fmt.Sprint(sourceARN(have)) == fmt.Sprint(sourceARN(want))
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// sourceARN reads the aws:SourceArn condition of a statement.
func sourceARN(s policyStatement) any {
	for _, op := range []string{"StringEquals", "ArnEquals", "ArnLike", "StringLike"} {
		if m, ok := s.Condition[op].(map[string]any); ok {
			if v, ok := m["aws:SourceArn"]; ok {
				return v
			}
		}
	}
	return nil
}

// mergePolicy adds the missing statements to an existing policy. Every
// element of the existing policy is kept as written, including those
// trailgate does not model.
func mergePolicy(policy string, missing []policyStatement) (string, error) {
	doc := map[string]json.RawMessage{}
	if policy != "" {
		if err := json.Unmarshal([]byte(policy), &doc); err != nil {
			return "", fmt.Errorf("read bucket policy: %w", err)
		}
	}
	if _, ok := doc["Version"]; !ok {
		doc["Version"] = json.RawMessage(`"2012-10-17"`)
	}
	var statements []json.RawMessage
	if raw, ok := doc["Statement"]; ok {
		if err := json.Unmarshal(raw, &statements); err != nil {
			// A policy may hold a single statement object.
			statements = []json.RawMessage{raw}
		}
	}
	for _, m := range missing {
		b, err := json.Marshal(m)
		if err != nil {
			return "", err
		}
		statements = append(statements, b)
	}
	all, err := json.Marshal(statements)
	if err != nil {
		return "", err
	}
	doc["Statement"] = all
	b, err := json.Marshal(doc)
	return string(b), err
}

// bucketPolicyOf reads the bucket's policy: empty when it has none.
func bucketPolicyOf(ctx context.Context, c *awsclient.Clients, bucket string) (string, error) {
	out, err := c.S3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	switch {
	case isCode(err, "NoSuchBucketPolicy"):
		return "", nil
	case err != nil:
		return "", err
	}
	return aws.ToString(out.Policy), nil
}

// bucketPolicyReady reports whether the bucket exists with every statement
// an organization trail needs.
func bucketPolicyReady(ctx context.Context, c *awsclient.Clients, bucket, mgmt, orgID, trailARN string) (bool, error) {
	if bucket == "" {
		return false, nil
	}
	policy, err := bucketPolicyOf(ctx, c, bucket)
	if isCode(err, "NoSuchBucket", "NotFound") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	missing, err := missingStatements(policy, organizationTrailStatements(bucket, mgmt, orgID, trailARN))
	return err == nil && len(missing) == 0, nil
}

// ensureBucketPolicy gives the trail's bucket the organization-trail
// statements for the trail that its policy lacks, keeping every statement
// it has. A policy trailgate cannot read is left for a person to fix.
func ensureBucketPolicy(ctx context.Context, c *awsclient.Clients, in TrailInput, trailARN string, m *Mutation) error {
	bucket := in.Trail.Bucket
	current, err := bucketPolicyOf(ctx, c, bucket)
	if err != nil {
		return awsError(fmt.Sprintf("read the policy of bucket %s", bucket), err)
	}
	malformed := func(err error) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("bucket %s: %v; fix the bucket policy by hand", bucket, err), "MalformedPolicy", err)
	}
	missing, err := missingStatements(current, organizationTrailStatements(bucket, in.ManagementAccountID, in.OrganizationID, trailARN))
	if err != nil {
		return malformed(err)
	}
	if len(missing) == 0 {
		return nil
	}
	policy, err := mergePolicy(current, missing)
	if err != nil {
		return malformed(err)
	}
	call := startCall(sourceS3, c.Region, "PutBucketPolicy")
	out, err := c.S3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)})
	if err != nil {
		return awsError(fmt.Sprintf("put the organization-trail policy on bucket %s", bucket), err)
	}
	m.answered(call, out.ResultMetadata)
	return nil
}
