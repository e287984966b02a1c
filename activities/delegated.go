package activities

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// RegisterDelegatedAdministrators registers each account of
// trail.delegated_administrators that Organizations does not list yet as
// CloudTrail's delegated administrator, through CloudTrail (which is what
// AWS's recommended setup does). An account already registered is
// convergence. An account AWS refuses (not a member, the management
// account, one too many) fails at once, saying what to fix in
// trail.delegated_administrators. A disable never deregisters them: the
// CloudTrail administrator does.
func (a *Activities) RegisterDelegatedAdministrators(ctx context.Context, in OrgInput) (Mutation, error) {
	m := newMutation()
	if len(in.Trail.DelegatedAdministrators) == 0 {
		return m, nil
	}
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Mutation{}, err
	}
	listed, err := delegatedAdministrators(ctx, c)
	if err != nil {
		return Mutation{}, awsError(fmt.Sprintf("list CloudTrail delegated administrators of organization %s", orgLabel(in)), err)
	}
	for _, id := range in.Trail.DelegatedAdministrators {
		if slices.Contains(listed, id) {
			continue
		}
		call := startCall(sourceCloudTrail, c.Region, "RegisterOrganizationDelegatedAdmin")
		out, err := c.CloudTrail.RegisterOrganizationDelegatedAdmin(ctx, &cloudtrail.RegisterOrganizationDelegatedAdminInput{
			MemberAccountId: aws.String(id),
		})
		switch {
		case isCode(err, "AccountRegisteredException"):
			m.converged(call, err)
		case err != nil:
			return Mutation{}, awsError(fmt.Sprintf("register account %s as CloudTrail's delegated administrator in organization %s", id, orgLabel(in)), err)
		default:
			m.answered(call, out.ResultMetadata)
		}
	}
	return m, nil
}
