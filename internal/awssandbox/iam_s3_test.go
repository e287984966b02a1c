package awssandbox_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

func TestRoles(t *testing.T) {
	env, org := startOrg(t, 13, 0)
	mgmt := accountClients(env, org.ManagementAccountID)

	got := wantRole(t, mgmt, "TrailgateOperator")
	if *got.Role.Arn != org.RoleARN {
		t.Fatalf("role ARN %s, want %s", *got.Role.Arn, org.RoleARN)
	}
	doc, err := url.QueryUnescape(*got.Role.AssumeRolePolicyDocument)
	if err != nil || !strings.Contains(doc, org.ExternalID) {
		t.Fatalf("trust policy %q (%v)", *got.Role.AssumeRolePolicyDocument, err)
	}
	_, err = mgmt.iam.GetRole(ctx(), iamGetRole("Absent"))
	wantType[*iamtypes.NoSuchEntityException](t, err)

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + env.Operator.ID + `:root"},"Action":"sts:AssumeRole"}]}`
	created := must[*iam.CreateRoleOutput](t)(mgmt.iam.CreateRole(ctx(), &iam.CreateRoleInput{RoleName: aws.String("Auditor"), AssumeRolePolicyDocument: aws.String(trust)}))
	if *created.Role.Arn != "arn:aws:iam::"+org.ManagementAccountID+":role/Auditor" {
		t.Fatalf("created %s", *created.Role.Arn)
	}
	_, err = mgmt.iam.CreateRole(ctx(), &iam.CreateRoleInput{RoleName: aws.String("Auditor"), AssumeRolePolicyDocument: aws.String(trust)})
	wantType[*iamtypes.EntityAlreadyExistsException](t, err)
	_, err = mgmt.iam.CreateRole(ctx(), &iam.CreateRoleInput{RoleName: aws.String("Broken"), AssumeRolePolicyDocument: aws.String("{not json")})
	wantType[*iamtypes.MalformedPolicyDocumentException](t, err)
	_, err = mgmt.iam.CreateRole(ctx(), &iam.CreateRoleInput{RoleName: aws.String("Ghost"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + env.Operator.ID + `:user/nobody"},"Action":"sts:AssumeRole"}]}`)})
	wantType[*iamtypes.MalformedPolicyDocumentException](t, err)
	_, err = createServiceLinkedRole(mgmt, "nothing.amazonaws.com")
	wantType[*iamtypes.InvalidInputException](t, err)
}

func TestServiceLinkedRoleDeletion(t *testing.T) {
	env, org := startOrg(t, 14, 0)
	mgmt := accountClients(env, org.ManagementAccountID)
	created := must[*iam.CreateServiceLinkedRoleOutput](t)(createServiceLinkedRole(mgmt, ctPrincipal))
	if *created.Role.RoleName != "AWSServiceRoleForCloudTrail" || *created.Role.Path != "/aws-service-role/cloudtrail.amazonaws.com/" {
		t.Fatalf("created %+v", created.Role)
	}
	must[*organizations.EnableAWSServiceAccessOutput](t)(mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))

	del := must[*iam.DeleteServiceLinkedRoleOutput](t)(mgmt.iam.DeleteServiceLinkedRole(ctx(), &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("AWSServiceRoleForCloudTrail")}))
	st := must[*iam.GetServiceLinkedRoleDeletionStatusOutput](t)(mgmt.iam.GetServiceLinkedRoleDeletionStatus(ctx(), &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: del.DeletionTaskId}))
	if st.Status != iamtypes.DeletionTaskStatusTypeFailed || st.Reason == nil || len(st.Reason.RoleUsageList) != 1 {
		t.Fatalf("deletion while trusted access is enabled: %+v", st)
	}
	wantRole(t, mgmt, "AWSServiceRoleForCloudTrail")

	must[*organizations.DisableAWSServiceAccessOutput](t)(mgmt.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	del = must[*iam.DeleteServiceLinkedRoleOutput](t)(mgmt.iam.DeleteServiceLinkedRole(ctx(), &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("AWSServiceRoleForCloudTrail")}))
	st = must[*iam.GetServiceLinkedRoleDeletionStatusOutput](t)(mgmt.iam.GetServiceLinkedRoleDeletionStatus(ctx(), &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: del.DeletionTaskId}))
	if st.Status != iamtypes.DeletionTaskStatusTypeSucceeded {
		t.Fatalf("deletion status %s", st.Status)
	}
	_, err := mgmt.iam.GetRole(ctx(), iamGetRole("AWSServiceRoleForCloudTrail"))
	wantType[*iamtypes.NoSuchEntityException](t, err)
	_, err = mgmt.iam.DeleteServiceLinkedRole(ctx(), &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("AWSServiceRoleForCloudTrail")})
	wantType[*iamtypes.NoSuchEntityException](t, err)
	_, err = mgmt.iam.GetServiceLinkedRoleDeletionStatus(ctx(), &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: aws.String("task/aws-service-role/cloudtrail.amazonaws.com/AWSServiceRoleForCloudTrail/00000000-0000-4000-8000-000000000000")})
	wantType[*iamtypes.NoSuchEntityException](t, err)
	_, err = mgmt.iam.GetServiceLinkedRoleDeletionStatus(ctx(), &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: aws.String("nonsense")})
	wantType[*iamtypes.InvalidInputException](t, err)
}

func TestBuckets(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 15})
	owner := accountClients(env, env.Orgs[0].ManagementAccountID)
	other := accountClients(env, env.Orgs[1].ManagementAccountID)
	const name = "trail-logs-bucket"

	_, err := owner.s3.HeadBucket(ctx(), &s3.HeadBucketInput{Bucket: aws.String(name)})
	wantType[*s3types.NotFound](t, err)
	must[*s3.CreateBucketOutput](t)(owner.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(name)}))
	must[*s3.HeadBucketOutput](t)(owner.s3.HeadBucket(ctx(), &s3.HeadBucketInput{Bucket: aws.String(name)}))
	// Re-creating one's own bucket in us-east-1 succeeds.
	must[*s3.CreateBucketOutput](t)(owner.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(name)}))
	_, err = other.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	wantType[*s3types.BucketAlreadyExists](t, err)
	_, err = other.s3.HeadBucket(ctx(), &s3.HeadBucketInput{Bucket: aws.String(name)})
	wantCode(t, err, "Forbidden")
	_, err = owner.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	wantCode(t, err, "InvalidBucketName")

	west := owner.cfg.Copy()
	west.Region = "eu-west-1"
	wc := newClients(west)
	_, err = wc.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String("west-bucket")})
	wantCode(t, err, "IllegalLocationConstraintException")
	must[*s3.CreateBucketOutput](t)(wc.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String("west-bucket"), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}))
	_, err = wc.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String("west-bucket"), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}})
	wantType[*s3types.BucketAlreadyOwnedByYou](t, err)

	_, err = owner.s3.GetBucketPolicy(ctx(), &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
	wantCode(t, err, "NoSuchBucketPolicy")
	_, err = owner.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String("not json")})
	wantCode(t, err, "MalformedPolicy")
	_, err = owner.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::` + name + `"}]}`)})
	wantCode(t, err, "MalformedPolicy")
	policy := orgTrailPolicy(name, "111111111111", "o-abcdefghij", "arn:aws:cloudtrail:us-east-1:111111111111:trail/x")
	must[*s3.PutBucketPolicyOutput](t)(owner.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(policy)}))
	got := must[*s3.GetBucketPolicyOutput](t)(owner.s3.GetBucketPolicy(ctx(), &s3.GetBucketPolicyInput{Bucket: aws.String(name)}))
	if *got.Policy != policy {
		t.Fatalf("policy read back as %q", *got.Policy)
	}
	_, err = other.s3.GetBucketPolicy(ctx(), &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
	wantCode(t, err, "AccessDenied")
	_, err = other.s3.DeleteBucket(ctx(), &s3.DeleteBucketInput{Bucket: aws.String(name)})
	wantCode(t, err, "AccessDenied")

	must[*s3.DeleteBucketOutput](t)(owner.s3.DeleteBucket(ctx(), &s3.DeleteBucketInput{Bucket: aws.String(name)}))
	_, err = owner.s3.DeleteBucket(ctx(), &s3.DeleteBucketInput{Bucket: aws.String(name)})
	wantCode(t, err, "NoSuchBucket")
	_, err = owner.s3.HeadBucket(ctx(), &s3.HeadBucketInput{Bucket: aws.String(name)})
	wantType[*s3types.NotFound](t, err)
}
