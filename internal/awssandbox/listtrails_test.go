package awssandbox_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// anyTrailPolicy lets CloudTrail deliver every trail's logs to the bucket.
func anyTrailPolicy(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::%[1]s"},
{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::%[1]s/*"}]}`, bucket)
}

// inRegion is c acting from another region.
func inRegion(c clients, region string) clients {
	cfg := c.cfg.Copy()
	cfg.Region = region
	return newClients(cfg)
}

// ListTrails answers, from any region, with the caller's own trails of
// every region and each one's home region, page by page; another account's
// trails are not listed.
func TestListTrailsListsTheAccountsTrailsOfEveryRegion(t *testing.T) {
	env, org := startOrg(t, 11, 0)
	mgmt := accountClients(env, org.ManagementAccountID)
	const bucket = "every-region-trails"
	must[*s3.CreateBucketOutput](t)(mgmt.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}))
	must[*s3.PutBucketPolicyOutput](t)(mgmt.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(anyTrailPolicy(bucket))}))

	want := map[string]string{} // ARN: home region
	for _, region := range []string{"us-east-1", "eu-west-1", "ap-southeast-2"} {
		in := inRegion(mgmt, region)
		n := 5
		if region == "ap-southeast-2" {
			n = 1
		}
		for i := range n {
			out := must[*cloudtrail.CreateTrailOutput](t)(in.ct.CreateTrail(ctx(), &cloudtrail.CreateTrailInput{
				Name: aws.String(fmt.Sprintf("trail-%d", i)), S3BucketName: aws.String(bucket),
			}))
			want[aws.ToString(out.TrailARN)] = region
		}
	}

	for _, from := range []string{"us-east-1", "eu-west-1", "sa-east-1"} {
		p := cloudtrail.NewListTrailsPaginator(inRegion(mgmt, from).ct, &cloudtrail.ListTrailsInput{})
		got := map[string]string{}
		pages := 0
		for p.HasMorePages() {
			page := must[*cloudtrail.ListTrailsOutput](t)(p.NextPage(ctx()))
			pages++
			for _, tr := range page.Trails {
				got[aws.ToString(tr.TrailARN)] = aws.ToString(tr.HomeRegion)
				if arn := fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", aws.ToString(tr.HomeRegion), org.ManagementAccountID, aws.ToString(tr.Name)); arn != aws.ToString(tr.TrailARN) {
					t.Errorf("from %s: trail %s named %s in %s", from, aws.ToString(tr.TrailARN), aws.ToString(tr.Name), aws.ToString(tr.HomeRegion))
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ListTrails from %s: %v, want %v", from, got, want)
		}
		if pages < 2 {
			t.Errorf("ListTrails from %s: %d trails in %d page(s), want more than one page", from, len(got), pages)
		}
	}

	member := accountClients(env, org.MemberAccountIDs[0])
	out := must[*cloudtrail.ListTrailsOutput](t)(member.ct.ListTrails(ctx(), &cloudtrail.ListTrailsInput{}))
	if len(out.Trails) != 0 || out.NextToken != nil {
		t.Errorf("a member account lists another account's trails: %+v", out.Trails)
	}

	_, err := mgmt.ct.ListTrails(ctx(), &cloudtrail.ListTrailsInput{NextToken: aws.String("not-a-token")})
	wantCode(t, err, "InvalidNextTokenException")
}
