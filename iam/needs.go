package iam

// Needed are the permissions trailgate's worker uses in a management
// account: the actions its code calls, on the resources and with the
// condition values its calls carry. It is the code's side of the contract
// whose other side is RolePolicy: RolePolicy must grant each of them and
// nothing more (a test in the AWS sandbox holds them together), and doctor
// asks IAM's policy simulator whether each organization's role may do each
// of them. Removing an action from trailgate-role-policy.json therefore
// fails that test, makes the calls that need it AccessDenied in every test
// (the sandbox's roles carry the file), and is named by doctor.
var Needed = []Statement{
	{Sid: "ReadTheOrganization", Actions: []string{
		"organizations:DescribeOrganization",
		"organizations:ListAccounts",
		"organizations:ListAWSServiceAccessForOrganization",
		"organizations:ListDelegatedAdministrators",
	}, Resources: []string{"*"}},
	{Sid: "CloudTrailTrustedAccessOnly", Actions: []string{
		"organizations:EnableAWSServiceAccess",
		"organizations:DisableAWSServiceAccess",
		"organizations:RegisterDelegatedAdministrator",
	}, Resources: []string{"*"}, Conditions: map[string]map[string][]string{
		"StringEquals": {"organizations:ServicePrincipal": {"cloudtrail.amazonaws.com"}},
	}},
	{Sid: "ReadCloudTrail", Actions: []string{
		"cloudtrail:DescribeTrails",
		"cloudtrail:ListTrails",
		"cloudtrail:GetTrail",
		"cloudtrail:GetTrailStatus",
		"cloudtrail:ListEventDataStores",
		"cloudtrail:GetEventDataStore",
		"cloudtrail:LookupEvents",
	}, Resources: []string{"*"}},
	{Sid: "ManageTheOrganizationTrail", Actions: []string{
		"cloudtrail:CreateTrail",
		"cloudtrail:UpdateTrail",
		"cloudtrail:StartLogging",
	}, Resources: []string{"arn:aws:cloudtrail:*:*:trail/*"}},
	{Sid: "RegisterCloudTrailDelegatedAdministrators", Actions: []string{
		"cloudtrail:RegisterOrganizationDelegatedAdmin",
	}, Resources: []string{"*"}},
	{Sid: "ReadTheCloudTrailServiceLinkedRole", Actions: []string{
		"iam:GetRole",
	}, Resources: []string{"arn:aws:iam::*:role/*AWSServiceRoleForCloudTrail"}},
	{Sid: "CreateOnlyCloudTrailServiceLinkedRoles", Actions: []string{
		"iam:CreateServiceLinkedRole",
	}, Resources: []string{"*"}, Conditions: map[string]map[string][]string{
		"StringLike": {"iam:AWSServiceName": {"cloudtrail.amazonaws.com"}},
	}},
	{Sid: "SimulateItsOwnPolicy", Actions: []string{
		"iam:SimulatePrincipalPolicy",
	}, Resources: []string{"${aws:PrincipalArn}"}},
	{Sid: "TheTrailBucket", Actions: []string{
		"s3:CreateBucket",
		"s3:ListBucket",
		"s3:GetBucketPolicy",
		"s3:PutBucketPolicy",
	}, Resources: []string{"arn:aws:s3:::*"}},
	{Sid: "MemberAccountProbe", Actions: []string{
		"sts:AssumeRole",
		"sts:SetSourceIdentity",
	}, Resources: []string{"arn:aws:iam::*:role/OrganizationAccountAccessRole"}},
}

// NeededActions are the actions of Needed, in order.
func NeededActions() []string {
	var out []string
	for _, st := range Needed {
		out = append(out, st.Actions...)
	}
	return out
}
