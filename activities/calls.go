package activities

import (
	"errors"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// The event sources of the services trailgate changes, as CloudTrail names
// them in its events.
const (
	sourceOrganizations = "organizations.amazonaws.com"
	sourceCloudTrail    = "cloudtrail.amazonaws.com"
	sourceIAM           = "iam.amazonaws.com"
	sourceS3            = "s3.amazonaws.com"
)

// globalEventsRegion is where CloudTrail logs the events of the global
// services, Organizations and IAM.
const globalEventsRegion = awsclient.OrganizationsRegion

// newMutation is a mutation that has made no call yet.
func newMutation() Mutation {
	return Mutation{Calls: []Call{}}
}

// startCall is a call about to be made, at the time CloudTrail will give
// its event.
func startCall(service, region, operation string) Call {
	return Call{Operation: operation, Service: service, Region: region, At: time.Now().UTC()}
}

// answered records a call AWS carried out, with the request ID of its
// answer.
func (m *Mutation) answered(c Call, meta middleware.Metadata) {
	c.RequestID, _ = awsmiddleware.GetRequestIDMetadata(meta)
	m.Calls = append(m.Calls, c)
}

// converged records a call that AWS refused because what it asks is
// already so (the role exists, the account is registered): CloudTrail logs
// it as well, with its error code. A refusal that carries no request ID
// never reached AWS, and is not recorded.
func (m *Mutation) converged(c Call, err error) {
	var resp *awshttp.ResponseError
	if !errors.As(err, &resp) || resp.ServiceRequestID() == "" {
		return
	}
	c.RequestID = resp.ServiceRequestID()
	m.Calls = append(m.Calls, c)
}
