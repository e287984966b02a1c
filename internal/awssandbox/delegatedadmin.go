package awssandbox

// CloudTrail's RegisterOrganizationDelegatedAdmin works in Organizations and
// IAM on the caller's behalf: AWS's "Required permissions to assign a
// delegated administrator" lists what the caller needs besides the
// CloudTrail action, and registering creates the management account's
// AWSServiceRoleForCloudTrail when it is missing (registering through
// Organizations' own API does not).

// delegationDependencies refuses a registration when the caller's identity
// policies lack a permission CloudTrail needs in Organizations or IAM.
func (s *Sandbox) delegationDependencies(c *caller, o *organization, memberID string) *apiError {
	principal := map[string][]string{"organizations:ServicePrincipal": {cloudTrailPrincipal}}
	slr := "arn:aws:iam::" + c.account.ID + ":role/aws-service-role/" + cloudTrailPrincipal + "/" + cloudTrailRole
	needs := []call{
		{action: "organizations:RegisterDelegatedAdministrator", resources: []string{o.accountARN(memberID)}, context: principal},
		{action: "organizations:ListAWSServiceAccessForOrganization", resources: []string{"*"}},
		{action: "iam:GetRole", resources: []string{slr}},
		{action: "iam:CreateServiceLinkedRole", resources: []string{slr}, context: map[string][]string{"iam:AWSServiceName": {cloudTrailPrincipal}}},
	}
	if missing := c.missingPermission(needs); missing != "" {
		return errf("InsufficientDependencyServiceAccessPermissionException",
			"User: %s lacks %s, which CloudTrail needs to register a delegated administrator for organization %s.", c.arn(), missing, o.ID)
	}
	return nil
}

// ensureCloudTrailRole creates the caller's AWSServiceRoleForCloudTrail
// when it is missing.
func (s *Sandbox) ensureCloudTrailRole(c *caller) *apiError {
	if c.account.Roles[cloudTrailRole] != nil {
		return nil
	}
	_, aerr := s.createServiceLinkedRoleLocked(c.account, cloudTrailPrincipal, "")
	return aerr
}
