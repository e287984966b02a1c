package awssandbox_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	shipped "github.com/trailgate/trailgate/iam"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// policyWithout is the shipped role policy without one action.
func policyWithout(t *testing.T, action string) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(shipped.RolePolicy), &doc); err != nil {
		t.Fatal(err)
	}
	var kept []any
	removed := false
	for _, raw := range doc["Statement"].([]any) {
		st := raw.(map[string]any)
		var actions []any
		switch a := st["Action"].(type) {
		case string:
			actions = []any{a}
		case []any:
			actions = a
		}
		var left []any
		for _, a := range actions {
			if a == action {
				removed = true
				continue
			}
			left = append(left, a)
		}
		if len(left) > 0 {
			st["Action"] = left
			kept = append(kept, st)
		}
	}
	if !removed {
		t.Fatalf("the shipped policy does not allow %s", action)
	}
	doc["Statement"] = kept
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// setRolePolicy replaces the trailgate role's shipped policy of org.
func setRolePolicy(t *testing.T, env *sandboxtest.Env, org awssandbox.DevOrganization, document string) {
	t.Helper()
	if err := env.Sandbox.PutRolePolicy(org.ManagementAccountID, awssandbox.DevRoleName, awssandbox.DevRolePolicyName, document); err != nil {
		t.Fatal(err)
	}
}

// TestShippedPolicyMissingActionIsDenied: each call trailgate makes
// succeeds under the shipped policy and is refused, naming its action in
// its service's own AccessDenied, once that action is taken out.
func TestShippedPolicyMissingActionIsDenied(t *testing.T) {
	env, org := startOrg(t, 41, 0)
	tg := assumeAs(t, env, org, "tg-chg-41", "alice")
	cases := []struct {
		action string
		call   func() error
		denied func(error)
	}{
		{"organizations:EnableAWSServiceAccess", func() error {
			_, err := tg.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)})
			return err
		}, func(err error) { wantType[*orgtypes.AccessDeniedException](t, err) }},
		{"cloudtrail:DescribeTrails", func() error {
			_, err := tg.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{})
			return err
		}, func(err error) { wantCode(t, err, "AccessDeniedException") }},
		{"cloudtrail:LookupEvents", func() error {
			_, err := tg.ct.LookupEvents(ctx(), &cloudtrail.LookupEventsInput{})
			return err
		}, func(err error) { wantCode(t, err, "AccessDeniedException") }},
		{"iam:CreateServiceLinkedRole", func() error {
			_, err := createServiceLinkedRole(tg, ctPrincipal)
			return err
		}, func(err error) { wantCode(t, err, "AccessDenied") }},
		{"s3:CreateBucket", func() error {
			_, err := tg.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String("acme-prod-trail-41")})
			return err
		}, func(err error) { wantCode(t, err, "AccessDenied") }},
		{"sts:AssumeRole", func() error {
			_, err := tg.sts.AssumeRole(ctx(), &sts.AssumeRoleInput{
				RoleArn:         aws.String("arn:aws:iam::" + org.MemberAccountIDs[0] + ":role/OrganizationAccountAccessRole"),
				RoleSessionName: aws.String("tg-chg-41-probe"),
			})
			return err
		}, func(err error) { wantCode(t, err, "AccessDenied") }},
	}
	for _, tc := range cases {
		setRolePolicy(t, env, org, policyWithout(t, tc.action))
		err := tc.call()
		tc.denied(err)
		if !strings.Contains(err.Error(), "is not authorized to perform: "+tc.action) || !strings.Contains(err.Error(), "assumed-role/TrailgateOperator/tg-chg-41") {
			t.Errorf("without %s: %v, want the session refused %s", tc.action, err, tc.action)
		}
		setRolePolicy(t, env, org, shipped.RolePolicy)
		if err := tc.call(); err != nil {
			t.Errorf("with the shipped policy, the call needing %s fails: %v", tc.action, err)
		}
	}
}

// TestIdentityPolicyDenyAndConditions: an explicit Deny wins over the
// shipped Allow, and the shipped conditions refuse other services'
// trusted access and service-linked roles.
func TestIdentityPolicyDenyAndConditions(t *testing.T) {
	env, org := startOrg(t, 42, 1)
	tg := assumeAs(t, env, org, "tg-chg-42", "")

	_, err := createServiceLinkedRole(tg, "config.amazonaws.com")
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "iam:CreateServiceLinkedRole on resource: arn:aws:iam::"+org.ManagementAccountID+":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig because no identity-based policy allows") {
		t.Errorf("another service's linked role: %v", err)
	}
	must[*iam.CreateServiceLinkedRoleOutput](t)(createServiceLinkedRole(tg, ctPrincipal))
	_, err = tg.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String("config.amazonaws.com")})
	wantType[*orgtypes.AccessDeniedException](t, err)

	must[*organizations.EnableAWSServiceAccessOutput](t)(tg.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:Disable*","Resource":"*"}]}`
	if err := env.Sandbox.PutRolePolicy(org.ManagementAccountID, awssandbox.DevRoleName, "no-disabling", deny); err != nil {
		t.Fatal(err)
	}
	_, err = tg.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)})
	wantType[*orgtypes.AccessDeniedException](t, err)
	if !strings.Contains(err.Error(), "organizations:DisableAWSServiceAccess with an explicit deny in an identity-based policy") {
		t.Errorf("explicit deny: %v", err)
	}
	if on, _ := env.Sandbox.TrustedAccess(org.OrganizationID, ctPrincipal); !on {
		t.Fatal("a denied DisableAWSServiceAccess disabled trusted access")
	}
	if err := env.Sandbox.DeleteRolePolicy(org.ManagementAccountID, awssandbox.DevRoleName, "no-disabling"); err != nil {
		t.Fatal(err)
	}
	must[*organizations.DisableAWSServiceAccessOutput](t)(tg.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))

	// A role without identity policies keeps the sandbox's older rule: its
	// sessions may do anything.
	plain, err := env.Sandbox.CreateRole(awssandbox.RoleSpec{AccountID: org.ManagementAccountID, Name: "Plain", TrustedAccountID: env.Operator.ID})
	if err != nil {
		t.Fatal(err)
	}
	out := must[*sts.AssumeRoleOutput](t)(newClients(env.OperatorConfig()).sts.AssumeRole(ctx(), &sts.AssumeRoleInput{RoleArn: aws.String(plain), RoleSessionName: aws.String("plain")}))
	free := sessionClients(env.OperatorConfig(), out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
	must[*organizations.EnableAWSServiceAccessOutput](t)(free.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String("config.amazonaws.com")}))
}

// TestRegisterDelegatedAdminDependencies: registering through CloudTrail
// needs Organizations and IAM permissions besides CloudTrail's, and creates
// the management account's service-linked role.
func TestRegisterDelegatedAdminDependencies(t *testing.T) {
	env, org := startOrg(t, 43, 2)
	tg := assumeAs(t, env, org, "tg-chg-43", "alice")
	must[*organizations.EnableAWSServiceAccessOutput](t)(tg.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	register := &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(org.MemberAccountIDs[0])}

	setRolePolicy(t, env, org, policyWithout(t, "organizations:RegisterDelegatedAdministrator"))
	_, err := tg.ct.RegisterOrganizationDelegatedAdmin(ctx(), register)
	wantType[*cttypes.InsufficientDependencyServiceAccessPermissionException](t, err)
	if !strings.Contains(err.Error(), "organizations:RegisterDelegatedAdministrator") {
		t.Errorf("refusal %v does not name the missing permission", err)
	}
	_, err = tg.iam.GetRole(ctx(), iamGetRole("AWSServiceRoleForCloudTrail"))
	wantCode(t, err, "NoSuchEntity")

	setRolePolicy(t, env, org, shipped.RolePolicy)
	must[*cloudtrail.RegisterOrganizationDelegatedAdminOutput](t)(tg.ct.RegisterOrganizationDelegatedAdmin(ctx(), register))
	wantRole(t, tg, "AWSServiceRoleForCloudTrail")
	list := must[*organizations.ListDelegatedAdministratorsOutput](t)(tg.orgs.ListDelegatedAdministrators(ctx(), &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String(ctPrincipal)}))
	if len(list.DelegatedAdministrators) != 1 || aws.ToString(list.DelegatedAdministrators[0].Id) != org.MemberAccountIDs[0] {
		t.Fatalf("delegated administrators %+v", list.DelegatedAdministrators)
	}
}

// TestSimulatePrincipalPolicy: the simulator answers what the role's
// policies decide, names the context a condition lacks, and lets a session
// simulate its own role only.
func TestSimulatePrincipalPolicy(t *testing.T) {
	env, org := startOrg(t, 44, 0)
	tg := assumeAs(t, env, org, "tg-chg-44", "")
	simulate := func(c clients, source string, actions []string, ctxEntries map[string]string) map[string]iamtypes.EvaluationResult {
		t.Helper()
		in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(source), ActionNames: actions}
		for k, v := range ctxEntries {
			in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{ContextKeyName: aws.String(k), ContextKeyValues: []string{v}, ContextKeyType: iamtypes.ContextKeyTypeEnumString})
		}
		out := must[*iam.SimulatePrincipalPolicyOutput](t)(c.iam.SimulatePrincipalPolicy(ctx(), in))
		results := map[string]iamtypes.EvaluationResult{}
		for _, r := range out.EvaluationResults {
			results[aws.ToString(r.EvalActionName)] = r
		}
		return results
	}
	actions := []string{"organizations:EnableAWSServiceAccess", "organizations:CreateAccount", "iam:CreateServiceLinkedRole", "cloudtrail:DescribeTrails"}
	got := simulate(tg, org.RoleARN, actions, map[string]string{
		"organizations:ServicePrincipal": ctPrincipal,
		"iam:AWSServiceName":             ctPrincipal,
	})
	want := map[string]iamtypes.PolicyEvaluationDecisionType{
		"organizations:EnableAWSServiceAccess": iamtypes.PolicyEvaluationDecisionTypeAllowed,
		"organizations:CreateAccount":          iamtypes.PolicyEvaluationDecisionTypeImplicitDeny,
		"iam:CreateServiceLinkedRole":          iamtypes.PolicyEvaluationDecisionTypeAllowed,
		"cloudtrail:DescribeTrails":            iamtypes.PolicyEvaluationDecisionTypeAllowed,
	}
	for a, d := range want {
		if got[a].EvalDecision != d {
			t.Errorf("%s: %s, want %s", a, got[a].EvalDecision, d)
		}
	}
	if m := got["cloudtrail:DescribeTrails"].MatchedStatements; len(m) != 1 || aws.ToString(m[0].SourcePolicyId) != awssandbox.DevRolePolicyName {
		t.Errorf("matched statements %+v", m)
	}
	// Without the service principal, the condition does not hold, and the
	// simulator says which context is missing.
	got = simulate(tg, org.RoleARN, []string{"organizations:EnableAWSServiceAccess"}, nil)
	if r := got["organizations:EnableAWSServiceAccess"]; r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny || strings.Join(r.MissingContextValues, " ") != "organizations:ServicePrincipal" {
		t.Errorf("without context: %s, missing %v", r.EvalDecision, r.MissingContextValues)
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"cloudtrail:*","Resource":"*"}]}`
	if err := env.Sandbox.PutRolePolicy(org.ManagementAccountID, awssandbox.DevRoleName, "no-cloudtrail", deny); err != nil {
		t.Fatal(err)
	}
	if r := simulate(tg, org.RoleARN, []string{"cloudtrail:DescribeTrails"}, nil)["cloudtrail:DescribeTrails"]; r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeExplicitDeny {
		t.Errorf("with a Deny: %s", r.EvalDecision)
	}

	// The shipped policy lets the session simulate its own role, not
	// another.
	other, err := env.Sandbox.CreateRole(awssandbox.RoleSpec{AccountID: org.ManagementAccountID, Name: "Other", TrustedAccountID: env.Operator.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.iam.SimulatePrincipalPolicy(ctx(), &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(other), ActionNames: []string{"s3:ListBucket"}})
	wantCode(t, err, "AccessDenied")
}

// TestRoleInlinePolicies: IAM's inline role policy API, and the documents it
// refuses.
func TestRoleInlinePolicies(t *testing.T) {
	env, org := startOrg(t, 45, 0)
	admin := accountClients(env, org.ManagementAccountID)
	role := aws.String(awssandbox.DevRoleName)

	list := must[*iam.ListRolePoliciesOutput](t)(admin.iam.ListRolePolicies(ctx(), &iam.ListRolePoliciesInput{RoleName: role}))
	if strings.Join(list.PolicyNames, " ") != awssandbox.DevRolePolicyName {
		t.Fatalf("the dev role's policies: %v", list.PolicyNames)
	}
	got := must[*iam.GetRolePolicyOutput](t)(admin.iam.GetRolePolicy(ctx(), &iam.GetRolePolicyInput{RoleName: role, PolicyName: aws.String(awssandbox.DevRolePolicyName)}))
	if doc := aws.ToString(got.PolicyDocument); !strings.Contains(doc, "organizations%3AEnableAWSServiceAccess") {
		t.Fatalf("GetRolePolicy document (URL-encoded, as IAM returns it): %s", doc)
	}
	extra := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetBucketLocation","Resource":"*"}}`
	must[*iam.PutRolePolicyOutput](t)(admin.iam.PutRolePolicy(ctx(), &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("extra"), PolicyDocument: aws.String(extra)}))
	list = must[*iam.ListRolePoliciesOutput](t)(admin.iam.ListRolePolicies(ctx(), &iam.ListRolePoliciesInput{RoleName: role}))
	if strings.Join(list.PolicyNames, " ") != "extra trailgate" {
		t.Fatalf("after PutRolePolicy: %v", list.PolicyNames)
	}
	must[*iam.DeleteRolePolicyOutput](t)(admin.iam.DeleteRolePolicy(ctx(), &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String("extra")}))
	_, err := admin.iam.DeleteRolePolicy(ctx(), &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String("extra")})
	wantCode(t, err, "NoSuchEntity")

	refused := map[string]string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`: "should not specify a principal",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`:                                "must contain resources",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetRole","Resource":"*"}]}`:              "prefaced by a vendor",
		`not json`: "Syntax errors",
	}
	for doc, want := range refused {
		_, err := admin.iam.PutRolePolicy(ctx(), &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("bad"), PolicyDocument: aws.String(doc)})
		wantCode(t, err, "MalformedPolicyDocument")
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
	_, err = admin.iam.PutRolePolicy(ctx(), &iam.PutRolePolicyInput{RoleName: aws.String("Nope"), PolicyName: aws.String("p"), PolicyDocument: aws.String(extra)})
	wantCode(t, err, "NoSuchEntity")
	createCloudTrailRole(t, admin)
	_, err = admin.iam.PutRolePolicy(ctx(), &iam.PutRolePolicyInput{RoleName: aws.String("AWSServiceRoleForCloudTrail"), PolicyName: aws.String("p"), PolicyDocument: aws.String(extra)})
	wantCode(t, err, "UnmodifiableEntity")
}

// TestMemberAccountProbeUnderShippedPolicy: under the shipped policy alone,
// trailgate's session sets up an organization trail, and a session chained
// from it into a member account sees the trail as an organization trail,
// logging, only while trusted access is on.
func TestMemberAccountProbeUnderShippedPolicy(t *testing.T) {
	env, org := startOrg(t, 46, 1)
	tg := assumeAs(t, env, org, "tg-chg-46", "alice")
	const bucket, name = "acme-staging-org-trail-46", "org-trail"
	arn := "arn:aws:cloudtrail:us-east-1:" + org.ManagementAccountID + ":trail/" + name

	must[*organizations.EnableAWSServiceAccessOutput](t)(tg.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	createCloudTrailRole(t, tg)
	must[*s3.CreateBucketOutput](t)(tg.s3.CreateBucket(ctx(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}))
	must[*s3.HeadBucketOutput](t)(tg.s3.HeadBucket(ctx(), &s3.HeadBucketInput{Bucket: aws.String(bucket)}))
	must[*s3.PutBucketPolicyOutput](t)(tg.s3.PutBucketPolicy(ctx(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(orgTrailPolicy(bucket, org.ManagementAccountID, org.OrganizationID, arn))}))
	must[*s3.GetBucketPolicyOutput](t)(tg.s3.GetBucketPolicy(ctx(), &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)}))
	must[*cloudtrail.CreateTrailOutput](t)(tg.ct.CreateTrail(ctx(), &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket), IsOrganizationTrail: aws.Bool(true), IsMultiRegionTrail: aws.Bool(true)}))
	must[*cloudtrail.StartLoggingOutput](t)(tg.ct.StartLogging(ctx(), &cloudtrail.StartLoggingInput{Name: aws.String(arn)}))

	out := must[*sts.AssumeRoleOutput](t)(tg.sts.AssumeRole(ctx(), &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::" + org.MemberAccountIDs[1] + ":role/OrganizationAccountAccessRole"),
		RoleSessionName: aws.String("tg-chg-46-probe"),
	}))
	probe := sessionClients(env.OperatorConfig(), out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
	desc := must[*cloudtrail.DescribeTrailsOutput](t)(probe.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)}))
	if len(desc.TrailList) != 1 || aws.ToString(desc.TrailList[0].TrailARN) != arn || !aws.ToBool(desc.TrailList[0].IsOrganizationTrail) {
		t.Fatalf("the member account sees %+v", desc.TrailList)
	}
	if !trailLogging(t, probe, arn) {
		t.Fatal("the organization trail does not log for the member account")
	}

	must[*organizations.DisableAWSServiceAccessOutput](t)(tg.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	desc = must[*cloudtrail.DescribeTrailsOutput](t)(probe.ct.DescribeTrails(ctx(), &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)}))
	if len(desc.TrailList) != 0 {
		t.Fatalf("without trusted access the member account still sees %+v", desc.TrailList)
	}
	_, err := probe.ct.GetTrailStatus(ctx(), &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	wantType[*cttypes.TrailNotFoundException](t, err)
}
