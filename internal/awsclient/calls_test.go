package awsclient_test

import (
	"context"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/uber-go/tally/v4"
	sdktally "go.temporal.io/sdk/contrib/tally"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
	"github.com/trailgate/trailgate/internal/metrics"
)

// Every AWS call of an organization's clients is counted once, with the
// code it ended with and the retries the SDK's retryer made; so is the
// AssumeRole that gives them their credentials.
func TestEveryAWSCallIsCountedWithItsCodeAndRetries(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Faults: []awssandbox.Fault{
		{Service: "organizations", Operation: "DescribeOrganization", Error: "TooManyRequestsException", Count: 2},
	}})
	scope := tally.NewTestScope("", nil)
	f := awsclient.NewFactoryFromConfig(env.OperatorConfig(), sdktally.NewMetricsHandler(scope))
	o := env.Orgs[0]
	c, err := f.ForOrganization(context.Background(), config.Organization{
		Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID,
	}, awsclient.Session{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Organizations.DescribeOrganization(context.Background(), &organizations.DescribeOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IAM.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("AWSServiceRoleForCloudTrail")}); err == nil {
		t.Fatal("GetRole found CloudTrail's service-linked role before trusted access was ever enabled")
	}

	counted := func(name string, tags map[string]string) int64 {
		for _, c := range scope.Snapshot().Counters() {
			if c.Name() == name && maps.Equal(c.Tags(), tags) {
				return c.Value()
			}
		}
		return 0
	}
	call := func(service, operation, code string) map[string]string {
		return map[string]string{metrics.LabelService: service, metrics.LabelOperation: operation, metrics.LabelCode: code}
	}
	for _, c := range []struct {
		name string
		tags map[string]string
		want int64
	}{
		{metrics.AWSCalls, call("STS", "AssumeRole", metrics.CodeOK), 1},
		{metrics.AWSCalls, call("Organizations", "DescribeOrganization", metrics.CodeOK), 1},
		{metrics.AWSRetries, map[string]string{metrics.LabelService: "Organizations", metrics.LabelOperation: "DescribeOrganization"}, 2},
		{metrics.AWSCalls, call("IAM", "GetRole", "NoSuchEntity"), 1},
	} {
		if got := counted(c.name, c.tags); got != c.want {
			t.Errorf("%s %v = %d, want %d; counted: %v", c.name, c.tags, got, c.want, scope.Snapshot().Counters())
		}
	}
}
