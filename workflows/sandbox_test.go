package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/testenv"
)

// The integration tests read and change AWS in the sandbox through the AWS
// SDK, as people with the accounts' credentials would; every such call is
// here.

// awsView reads an organization as its management account and one member
// account see it, through the AWS SDK.
type awsView struct {
	t       *testing.T
	env     *testenv.Env
	org     awssandbox.DevOrganization
	trail   string
	timeout context.Context
}

func view(t *testing.T, env *testenv.Env, org string) *awsView {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	o := env.Org(org)
	return &awsView{t: t, env: env, org: o, timeout: ctx,
		trail: "arn:aws:cloudtrail:us-east-1:" + o.ManagementAccountID + ":trail/" + env.Config.Trail.Name}
}

// trustedAccess reports whether the organization trusts CloudTrail as the
// sandbox holds it, before its propagation delay: what a test asserts was
// (or was not) changed. Verification's own reads go through the SDK and
// wait out the delay.
func (v *awsView) trustedAccess() bool {
	on, err := v.env.AWS.Sandbox.TrustedAccess(v.org.OrganizationID, "cloudtrail.amazonaws.com")
	if err != nil {
		v.t.Fatal(err)
	}
	return on
}

// listed reports whether ListAWSServiceAccessForOrganization, through the
// SDK, shows CloudTrail trusted.
func (v *awsView) listed() bool {
	out, err := organizations.NewFromConfig(v.env.AWS.ConfigFor(v.org.ManagementAccountID)).ListAWSServiceAccessForOrganization(v.timeout, &organizations.ListAWSServiceAccessForOrganizationInput{})
	if err != nil {
		v.t.Fatal(err)
	}
	for _, p := range out.EnabledServicePrincipals {
		if aws.ToString(p.ServicePrincipal) == "cloudtrail.amazonaws.com" {
			return true
		}
	}
	return false
}

func (v *awsView) role() bool {
	_, err := iam.NewFromConfig(v.env.AWS.ConfigFor(v.org.ManagementAccountID)).GetRole(v.timeout, &iam.GetRoleInput{RoleName: aws.String("AWSServiceRoleForCloudTrail")})
	return err == nil
}

// logging reports whether the organization trail logs, as the account sees it.
func (v *awsView) logging(account string) bool {
	out, err := cloudtrail.NewFromConfig(v.env.AWS.ConfigFor(account)).GetTrailStatus(v.timeout, &cloudtrail.GetTrailStatusInput{Name: aws.String(v.trail)})
	var notFound *cttypes.TrailNotFoundException
	if account != v.org.ManagementAccountID && errors.As(err, &notFound) {
		// Without trusted access, member accounts no longer see the
		// organization trail at all.
		return false
	}
	if err != nil {
		v.t.Fatalf("trail status of %s as %s: %v", v.trail, account, err)
	}
	return aws.ToBool(out.IsLogging)
}

func (v *awsView) trailExists() bool {
	_, err := cloudtrail.NewFromConfig(v.env.AWS.ConfigFor(v.org.ManagementAccountID)).GetTrail(v.timeout, &cloudtrail.GetTrailInput{Name: aws.String(v.trail)})
	return err == nil
}

// byHand is what someone does to AWS by hand, as the management account's
// administrator, while a change waits at a gate.
type byHand struct {
	t   *testing.T
	v   *awsView
	cfg aws.Config
}

func hands(v *awsView) *byHand {
	return &byHand{t: v.t, v: v, cfg: v.env.AWS.ConfigFor(v.org.ManagementAccountID)}
}

// trustedAccess turns trusted access on or off as the sandbox holds it.
func (h *byHand) trustedAccess(on bool) {
	if err := h.v.env.AWS.Sandbox.SetTrustedAccess(h.v.org.OrganizationID, "cloudtrail.amazonaws.com", on); err != nil {
		h.t.Fatal(err)
	}
}

func (h *byHand) createRole() {
	if _, err := iam.NewFromConfig(h.cfg).CreateServiceLinkedRole(h.v.timeout, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("cloudtrail.amazonaws.com")}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *byHand) deleteRole() {
	if _, err := iam.NewFromConfig(h.cfg).DeleteServiceLinkedRole(h.v.timeout, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("AWSServiceRoleForCloudTrail")}); err != nil {
		h.t.Fatal(err)
	}
}

// organizationTrail creates an organization trail with a bucket of its
// own, and returns its ARN.
func (h *byHand) organizationTrail(name string) string { return h.trail(name, true) }

// trail creates a trail, an organization trail or not, with a bucket of
// its own named after it, and returns its ARN.
func (h *byHand) trail(name string, organization bool) string {
	bucket := "by-hand-" + name + "-" + h.v.org.ManagementAccountID
	h.bucket(bucket, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::`+bucket+`"},
		{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::`+bucket+`/*"}]}`)
	out, err := cloudtrail.NewFromConfig(h.cfg).CreateTrail(h.v.timeout, &cloudtrail.CreateTrailInput{
		Name: aws.String(name), S3BucketName: aws.String(bucket), IsOrganizationTrail: aws.Bool(organization),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := cloudtrail.NewFromConfig(h.cfg).StartLogging(h.v.timeout, &cloudtrail.StartLoggingInput{Name: out.TrailARN}); err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(out.TrailARN)
}

// ownTrail gives the organization's management account a trail of its own
// by the managed trail's name: not an organization trail, not logging, its
// bucket's policy lacking the organization's statement.
func (h *byHand) ownTrail() {
	env, org := h.v.env, h.v.org
	bucket := env.Config.Trail.BucketFor(config.Organization{Name: org.Name, ManagementAccountID: org.ManagementAccountID})
	h.bucket(bucket, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
{"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::%[1]s","Condition":{"StringEquals":{"aws:SourceArn":"%[3]s"}}},
{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::%[1]s/AWSLogs/%[2]s/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":"%[3]s"}}}]}`,
		bucket, org.ManagementAccountID, h.v.trail))
	if _, err := cloudtrail.NewFromConfig(h.cfg).CreateTrail(h.v.timeout, &cloudtrail.CreateTrailInput{
		Name: aws.String(env.Config.Trail.Name), S3BucketName: aws.String(bucket), IncludeGlobalServiceEvents: aws.Bool(true),
	}); err != nil {
		h.t.Fatal(err)
	}
}

// bucket creates a bucket with the policy.
func (h *byHand) bucket(name, policy string) {
	s3c := s3.NewFromConfig(h.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(h.v.timeout, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := s3c.PutBucketPolicy(h.v.timeout, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(policy)}); err != nil {
		h.t.Fatal(err)
	}
}

// eventDataStore creates an organization event data store, and returns
// its ARN.
func (h *byHand) eventDataStore(name string) string {
	out, err := cloudtrail.NewFromConfig(h.cfg).CreateEventDataStore(h.v.timeout, &cloudtrail.CreateEventDataStoreInput{
		Name: aws.String(name), OrganizationEnabled: aws.Bool(true),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(out.EventDataStoreArn)
}

// delegatedAdministrators are the accounts Organizations lists as
// CloudTrail's delegated administrators.
func (h *byHand) delegatedAdministrators() ([]string, error) {
	out, err := organizations.NewFromConfig(h.cfg).ListDelegatedAdministrators(h.v.timeout, &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String("cloudtrail.amazonaws.com")})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, a := range out.DelegatedAdministrators {
		ids = append(ids, aws.ToString(a.Id))
	}
	return ids, nil
}

// eventNames are the names of the events LookupEvents finds by a user
// (or session) name.
func (h *byHand) eventNames(user string) []string {
	out, err := cloudtrail.NewFromConfig(h.cfg).LookupEvents(h.v.timeout, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String(user)}},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, e := range out.Events {
		names = append(names, aws.ToString(e.EventName))
	}
	return names
}

// trailOf is the trail as GetTrail shows it.
func (h *byHand) trailOf(arn string) (*cttypes.Trail, error) {
	out, err := cloudtrail.NewFromConfig(h.cfg).GetTrail(h.v.timeout, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	return out.Trail, nil
}
