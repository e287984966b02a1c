package activities

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	testBucket = "org-trail-bucket"
	testTrail  = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"
)

func required() []policyStatement {
	return organizationTrailStatements(testBucket, "111111111111", "o-abc123", testTrail)
}

func TestOrganizationTrailPolicyHasTheThreeStatements(t *testing.T) {
	policy, err := mergePolicy("", required())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"s3:GetBucketAcl"`, `"arn:aws:s3:::org-trail-bucket"`,
		`"arn:aws:s3:::org-trail-bucket/AWSLogs/111111111111/*"`,
		`"arn:aws:s3:::org-trail-bucket/AWSLogs/o-abc123/*"`,
		`"s3:x-amz-acl":"bucket-owner-full-control"`, `"aws:SourceArn":"` + testTrail + `"`,
		`"Service":"cloudtrail.amazonaws.com"`,
	} {
		if !strings.Contains(policy, want) {
			t.Errorf("policy lacks %s:\n%s", want, policy)
		}
	}
	missing, err := missingStatements(policy, required())
	if err != nil || len(missing) != 0 {
		t.Errorf("a policy trailgate wrote still misses %d statement(s) (%v)", len(missing), err)
	}
}

func TestMergeKeepsStatementsItDoesNotModel(t *testing.T) {
	existing := `{"Version":"2012-10-17","Id":"keep-me","Statement":{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"arn:aws:s3:::org-trail-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`
	missing, err := missingStatements(existing, required())
	if err != nil || len(missing) != 3 {
		t.Fatalf("missing %d (%v), want 3", len(missing), err)
	}
	merged, err := mergePolicy(existing, missing)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ID        string            `json:"Id"`
		Statement []json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(merged), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != "keep-me" || len(doc.Statement) != 4 || !strings.Contains(string(doc.Statement[0]), `"NotAction":"s3:GetObject"`) {
		t.Errorf("merged policy lost what it had: %s", merged)
	}
}

func TestStatementForAnotherTrailDoesNotCount(t *testing.T) {
	other := organizationTrailStatements(testBucket, "111111111111", "o-abc123", "arn:aws:cloudtrail:us-east-1:111111111111:trail/other")
	policy, _ := mergePolicy("", other)
	missing, err := missingStatements(policy, required())
	if err != nil || len(missing) != 3 {
		t.Errorf("statements for another trail counted: %d missing (%v)", len(missing), err)
	}
}

func TestOwnerHints(t *testing.T) {
	for name, want := range map[string]string{
		"aws-controltower-BaselineCloudTrail": "AWS Control Tower",
		"AWSAccelerator-CloudTrail":           "Landing Zone Accelerator",
		"terraform-org-trail":                 "Terraform",
		"org-trail":                           "",
	} {
		if got := ownerHint(name); got != want {
			t.Errorf("ownerHint(%q) = %q, want %q", name, got, want)
		}
	}
}
