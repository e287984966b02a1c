package awssandbox_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func ctDescribe() *cloudtrail.DescribeTrailsInput { return &cloudtrail.DescribeTrailsInput{} }

func createCloudTrailRole(t *testing.T, c clients) {
	t.Helper()
	if _, err := createServiceLinkedRole(c, ctPrincipal); err != nil {
		t.Fatal(err)
	}
}

// orgTrailPolicy is the organization-trail bucket policy of PRODUCT.md.
func orgTrailPolicy(bucket, mgmtID, orgID, trailARN string) string {
	return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::%[1]s",
     "Condition": {"StringEquals": {"aws:SourceArn": "%[4]s"}}},
    {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": "arn:aws:s3:::%[1]s/AWSLogs/%[2]s/*",
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": "%[4]s"}}},
    {"Sid": "AWSCloudTrailOrganizationWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": "arn:aws:s3:::%[1]s/AWSLogs/%[3]s/*",
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": "%[4]s"}}}
  ]
}`, bucket, mgmtID, orgID, trailARN)
}

func trailLogging(t *testing.T, c clients, arn string) bool {
	t.Helper()
	st, err := c.ct.GetTrailStatus(ctx(), &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToBool(st.IsLogging)
}

func TestOrganizationTrail(t *testing.T) {
	env, org := startOrg(t, 10, 0)
	mgmt := assumeRole(t, env, org)
	member := accountClients(env, org.MemberAccountIDs[0])
	const bucket, name = "acme-prod-org-trail", "org-trail"
	arn := "arn:aws:cloudtrail:us-east-1:" + org.ManagementAccountID + ":trail/" + name
	create := &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket), IsOrganizationTrail: aws.Bool(true), IsMultiRegionTrail: aws.Bool(true)}

	_, err := mgmt.ct.CreateTrail(ctx(), &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket)})
	wantType[*cttypes.S3BucketDoesNotExistException](t, err)
	must[*s3.CreateBucketOutput](t)(mgmt.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}))

	_, err = mgmt.ct.CreateTrail(ctx(), create)
	wantType[*cttypes.CloudTrailAccessNotEnabledException](t, err)
	must[*organizations.EnableAWSServiceAccessOutput](t)(mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))

	_, err = mgmt.ct.CreateTrail(ctx(), create)
	wantType[*cttypes.InsufficientDependencyServiceAccessPermissionException](t, err)
	_, err = mgmt.iam.GetRole(ctx(), iamGetRole("AWSServiceRoleForCloudTrail"))
	wantCode(t, err, "NoSuchEntity")
	createCloudTrailRole(t, mgmt)
	_, err = createServiceLinkedRole(mgmt, ctPrincipal)
	wantRoleTaken(t, err)

	_, err = mgmt.ct.CreateTrail(ctx(), create)
	wantType[*cttypes.InsufficientS3BucketPolicyException](t, err)
	// A policy for another trail's ARN does not let CloudTrail write.
	must[*s3.PutBucketPolicyOutput](t)(mgmt.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(orgTrailPolicy(bucket, org.ManagementAccountID, org.OrganizationID, arn+"-other"))}))
	_, err = mgmt.ct.CreateTrail(ctx(), create)
	wantType[*cttypes.InsufficientS3BucketPolicyException](t, err)
	must[*s3.PutBucketPolicyOutput](t)(mgmt.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(orgTrailPolicy(bucket, org.ManagementAccountID, org.OrganizationID, arn))}))

	_, err = member.ct.CreateTrail(ctx(), &cloudtrail.CreateTrailInput{Name: aws.String("rogue"), S3BucketName: aws.String(bucket), IsOrganizationTrail: aws.Bool(true)})
	wantType[*cttypes.NotOrganizationMasterAccountException](t, err)

	out, err := mgmt.ct.CreateTrail(ctx(), create)
	if err != nil {
		t.Fatal(err)
	}
	if *out.TrailARN != arn || !aws.ToBool(out.IsOrganizationTrail) {
		t.Fatalf("created trail %+v", out)
	}
	_, err = mgmt.ct.CreateTrail(ctx(), create)
	wantType[*cttypes.TrailAlreadyExistsException](t, err)
	if trailLogging(t, mgmt, arn) {
		t.Fatal("a new trail logs before StartLogging")
	}
	must[*cloudtrail.StartLoggingOutput](t)(mgmt.ct.StartLogging(ctx(), &cloudtrail.StartLoggingInput{Name: aws.String(arn)}))
	if !trailLogging(t, mgmt, arn) || !trailLogging(t, member, arn) {
		t.Fatal("organization trail not logging after StartLogging")
	}

	// Members see the organization trail's copy but cannot change it.
	desc := must[*cloudtrail.DescribeTrailsOutput](t)(member.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{}))
	if len(desc.TrailList) != 1 || *desc.TrailList[0].TrailARN != arn || !aws.ToBool(desc.TrailList[0].IsOrganizationTrail) || *desc.TrailList[0].HomeRegion != "us-east-1" {
		t.Fatalf("member sees %+v", desc.TrailList)
	}
	desc = must[*cloudtrail.DescribeTrailsOutput](t)(member.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)}))
	if len(desc.TrailList) != 0 {
		t.Fatalf("member sees %+v without shadow trails", desc.TrailList)
	}
	_, err = member.ct.DeleteTrail(ctx(), &cloudtrail.DeleteTrailInput{Name: aws.String(arn)})
	wantType[*cttypes.NotOrganizationMasterAccountException](t, err)
	_, err = member.ct.StopLogging(ctx(), &cloudtrail.StopLoggingInput{Name: aws.String(arn)})
	wantType[*cttypes.NotOrganizationMasterAccountException](t, err)
	got := must[*cloudtrail.GetTrailOutput](t)(member.ct.GetTrail(ctx(), &cloudtrail.GetTrailInput{Name: aws.String(arn)}))
	if *got.Trail.Name != name {
		t.Fatalf("member GetTrail %+v", got.Trail)
	}

	// Disabling trusted access leaves the trail and the role, but member
	// copies go; re-enabling restores them.
	must[*organizations.DisableAWSServiceAccessOutput](t)(mgmt.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	_, err = member.ct.GetTrailStatus(ctx(), &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	wantType[*cttypes.TrailNotFoundException](t, err)
	desc = must[*cloudtrail.DescribeTrailsOutput](t)(member.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{}))
	if len(desc.TrailList) != 0 {
		t.Fatalf("member sees %+v without trusted access", desc.TrailList)
	}
	if !trailLogging(t, mgmt, arn) {
		t.Fatal("management trail stopped with trusted access")
	}
	must[*cloudtrail.GetTrailOutput](t)(mgmt.ct.GetTrail(ctx(), &cloudtrail.GetTrailInput{Name: aws.String(name)}))
	wantRole(t, mgmt, "AWSServiceRoleForCloudTrail")
	must[*organizations.EnableAWSServiceAccessOutput](t)(mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	if !trailLogging(t, member, arn) {
		t.Fatal("member copy not restored by re-enabling trusted access")
	}

	// Calls from another region see the multi-Region trail as a shadow and
	// must change it from its home region. Stopping and deleting trails is
	// not trailgate's to do: the account's administrator does it.
	admin := accountClients(env, org.ManagementAccountID)
	west := admin.cfg.Copy()
	west.Region = "eu-west-1"
	wc := newClients(west)
	desc = must[*cloudtrail.DescribeTrailsOutput](t)(wc.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{}))
	if len(desc.TrailList) != 1 {
		t.Fatalf("eu-west-1 sees %+v", desc.TrailList)
	}
	_, err = wc.ct.StopLogging(ctx(), &cloudtrail.StopLoggingInput{Name: aws.String(arn)})
	wantType[*cttypes.InvalidHomeRegionException](t, err)

	must[*cloudtrail.StopLoggingOutput](t)(admin.ct.StopLogging(ctx(), &cloudtrail.StopLoggingInput{Name: aws.String(arn)}))
	if trailLogging(t, mgmt, arn) {
		t.Fatal("logging after StopLogging")
	}
	must[*cloudtrail.DeleteTrailOutput](t)(admin.ct.DeleteTrail(ctx(), &cloudtrail.DeleteTrailInput{Name: aws.String(arn)}))
	_, err = mgmt.ct.GetTrail(ctx(), &cloudtrail.GetTrailInput{Name: aws.String(name)})
	wantType[*cttypes.TrailNotFoundException](t, err)
	_, err = mgmt.ct.GetTrailStatus(ctx(), &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	wantType[*cttypes.TrailNotFoundException](t, err)
}

func TestUpdateTrailToOrganizationTrail(t *testing.T) {
	env, org := startOrg(t, 11, 2)
	mgmt := accountClients(env, org.ManagementAccountID)
	const bucket, name = "globex-trail", "main"
	arn := "arn:aws:cloudtrail:us-east-1:" + org.ManagementAccountID + ":trail/" + name
	must[*s3.CreateBucketOutput](t)(mgmt.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}))
	must[*s3.PutBucketPolicyOutput](t)(mgmt.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(orgTrailPolicy(bucket, org.ManagementAccountID, org.OrganizationID, arn))}))
	must[*cloudtrail.CreateTrailOutput](t)(mgmt.ct.CreateTrail(ctx(), &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket)}))
	_, err := mgmt.ct.UpdateTrail(ctx(), &cloudtrail.UpdateTrailInput{Name: aws.String(arn), IsOrganizationTrail: aws.Bool(true)})
	wantType[*cttypes.CloudTrailAccessNotEnabledException](t, err)
	must[*organizations.EnableAWSServiceAccessOutput](t)(mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	createCloudTrailRole(t, mgmt)
	up, err := mgmt.ct.UpdateTrail(ctx(), &cloudtrail.UpdateTrailInput{Name: aws.String(arn), IsOrganizationTrail: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(up.IsOrganizationTrail) {
		t.Fatalf("updated trail %+v", up)
	}
	_, err = mgmt.ct.UpdateTrail(ctx(), &cloudtrail.UpdateTrailInput{Name: aws.String("absent")})
	wantType[*cttypes.TrailNotFoundException](t, err)
	_, err = mgmt.ct.CreateTrail(ctx(), &cloudtrail.CreateTrailInput{Name: aws.String("-bad-"), S3BucketName: aws.String(bucket)})
	wantType[*cttypes.InvalidTrailNameException](t, err)
}

func TestEventDataStores(t *testing.T) {
	env, org := startOrg(t, 12, 1)
	mgmt := accountClients(env, org.ManagementAccountID)
	member := accountClients(env, org.MemberAccountIDs[0])

	_, err := mgmt.ct.CreateEventDataStore(ctx(), &cloudtrail.CreateEventDataStoreInput{Name: aws.String("org-lake"), OrganizationEnabled: aws.Bool(true)})
	wantType[*cttypes.CloudTrailAccessNotEnabledException](t, err)
	_, err = member.ct.CreateEventDataStore(ctx(), &cloudtrail.CreateEventDataStoreInput{Name: aws.String("org-lake"), OrganizationEnabled: aws.Bool(true)})
	wantType[*cttypes.NotOrganizationMasterAccountException](t, err)

	must[*organizations.EnableAWSServiceAccessOutput](t)(mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	createCloudTrailRole(t, mgmt)
	created := must[*cloudtrail.CreateEventDataStoreOutput](t)(mgmt.ct.CreateEventDataStore(ctx(), &cloudtrail.CreateEventDataStoreInput{Name: aws.String("org-lake"), OrganizationEnabled: aws.Bool(true)}))
	if !aws.ToBool(created.OrganizationEnabled) || created.Status != cttypes.EventDataStoreStatusEnabled || len(created.AdvancedEventSelectors) != 1 {
		t.Fatalf("created %+v", created)
	}
	_, err = mgmt.ct.CreateEventDataStore(ctx(), &cloudtrail.CreateEventDataStoreInput{Name: aws.String("org-lake")})
	wantType[*cttypes.EventDataStoreAlreadyExistsException](t, err)
	must[*cloudtrail.CreateEventDataStoreOutput](t)(mgmt.ct.CreateEventDataStore(ctx(), &cloudtrail.CreateEventDataStoreInput{Name: aws.String("account-lake"), RetentionPeriod: aws.Int32(90)}))

	got := must[*cloudtrail.GetEventDataStoreOutput](t)(mgmt.ct.GetEventDataStore(ctx(), &cloudtrail.GetEventDataStoreInput{EventDataStore: created.EventDataStoreArn}))
	if !aws.ToBool(got.OrganizationEnabled) || *got.Name != "org-lake" {
		t.Fatalf("got %+v", got)
	}
	id := (*created.EventDataStoreArn)[len(*created.EventDataStoreArn)-36:]
	must[*cloudtrail.GetEventDataStoreOutput](t)(mgmt.ct.GetEventDataStore(ctx(), &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String(id)}))
	_, err = mgmt.ct.GetEventDataStore(ctx(), &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String("arn:aws:cloudtrail:us-east-1:" + org.ManagementAccountID + ":eventdatastore/00000000-0000-4000-8000-000000000000")})
	wantType[*cttypes.EventDataStoreNotFoundException](t, err)
	_, err = mgmt.ct.GetEventDataStore(ctx(), &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String("not an arn")})
	wantType[*cttypes.EventDataStoreARNInvalidException](t, err)

	var names []string
	p := cloudtrail.NewListEventDataStoresPaginator(mgmt.ct, &cloudtrail.ListEventDataStoresInput{MaxResults: aws.Int32(1)})
	for _, e := range allPages(t, p.HasMorePages, p.NextPage, func(o *cloudtrail.ListEventDataStoresOutput) []cttypes.EventDataStore { return o.EventDataStores }) {
		names = append(names, *e.Name)
	}
	if len(names) != 2 {
		t.Fatalf("listed %v", names)
	}
	_, err = mgmt.ct.ListEventDataStores(ctx(), &cloudtrail.ListEventDataStoresInput{MaxResults: aws.Int32(5000)})
	wantType[*cttypes.InvalidMaxResultsException](t, err)
}
