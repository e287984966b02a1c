package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/smithy-go/middleware"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// Trusted access is AWS Organizations' side of CloudTrail: trailgate turns
// it on and off for cloudtrail.amazonaws.com alone, and reads it back,
// with CloudTrail's service-linked role, which an enable creates.

// EnableTrustedAccess enables trusted access for cloudtrail.amazonaws.com
// only; it never writes a list of principals. Enabling an enabled service is
// a success.
func (a *Activities) EnableTrustedAccess(ctx context.Context, in OrgInput) (Mutation, error) {
	return a.setTrustedAccess(ctx, in, true)
}

// DisableTrustedAccess disables trusted access for cloudtrail.amazonaws.com
// only. Disabling a disabled service is a success.
func (a *Activities) DisableTrustedAccess(ctx context.Context, in OrgInput) (Mutation, error) {
	return a.setTrustedAccess(ctx, in, false)
}

// setTrustedAccess turns trusted access for cloudtrail.amazonaws.com on or
// off with the one Organizations call that does so.
func (a *Activities) setTrustedAccess(ctx context.Context, in OrgInput, enable bool) (Mutation, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Mutation{}, err
	}
	verb, operation := "disable", "DisableAWSServiceAccess"
	if enable {
		verb, operation = "enable", "EnableAWSServiceAccess"
	}
	m := newMutation()
	call := startCall(sourceOrganizations, globalEventsRegion, operation)
	meta, err := serviceAccess(ctx, c.Organizations, enable)
	if err != nil {
		return Mutation{}, awsError(fmt.Sprintf("%s trusted access for %s in organization %s", verb, ServicePrincipal, orgLabel(in)), err)
	}
	m.answered(call, meta)
	return m, nil
}

// serviceAccess makes the Organizations call that turns trusted access for
// cloudtrail.amazonaws.com on or off, and returns the metadata of its
// answer.
func serviceAccess(ctx context.Context, org *organizations.Client, enable bool) (middleware.Metadata, error) {
	principal := aws.String(ServicePrincipal)
	if enable {
		out, err := org.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: principal})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	}
	out, err := org.DisableAWSServiceAccess(ctx, &organizations.DisableAWSServiceAccessInput{ServicePrincipal: principal})
	if err != nil {
		return middleware.Metadata{}, err
	}
	return out.ResultMetadata, nil
}

// trustedAccess reports whether cloudtrail.amazonaws.com is a trusted service
// of the organization, following every page.
func trustedAccess(ctx context.Context, c *awsclient.Clients) (bool, *time.Time, error) {
	p := organizations.NewListAWSServiceAccessForOrganizationPaginator(c.Organizations,
		&organizations.ListAWSServiceAccessForOrganizationInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, nil, err
		}
		for _, s := range page.EnabledServicePrincipals {
			if aws.ToString(s.ServicePrincipal) == ServicePrincipal {
				return true, s.DateEnabled, nil
			}
		}
	}
	return false, nil, nil
}

// EnsureServiceLinkedRole creates AWSServiceRoleForCloudTrail when it is
// missing; its mutation has no call when the role was there. A role name
// that "has been taken" means the role exists: that is convergence, not
// failure.
func (a *Activities) EnsureServiceLinkedRole(ctx context.Context, in OrgInput) (Mutation, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Mutation{}, err
	}
	doing := fmt.Sprintf("create role %s in organization %s", ServiceLinkedRoleName, orgLabel(in))
	exists, err := roleExists(ctx, c)
	if err != nil {
		return Mutation{}, awsError(doing, err)
	}
	m := newMutation()
	if exists {
		return m, nil
	}
	call := startCall(sourceIAM, globalEventsRegion, "CreateServiceLinkedRole")
	out, err := c.IAM.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{
		AWSServiceName: aws.String(ServicePrincipal),
	})
	switch {
	case isCode(err, "InvalidInput") && hasBeenTaken(err):
		m.converged(call, err)
	case err != nil:
		return Mutation{}, awsError(doing, err)
	default:
		m.answered(call, out.ResultMetadata)
	}
	return m, nil
}

// roleExists reports whether AWSServiceRoleForCloudTrail exists.
func roleExists(ctx context.Context, c *awsclient.Clients) (bool, error) {
	_, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ServiceLinkedRoleName)})
	if isCode(err, "NoSuchEntity") {
		return false, nil
	}
	return err == nil, err
}
