package awssandbox_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

const ctPrincipal = "cloudtrail.amazonaws.com"

func listPrincipals(t *testing.T, c clients, pageSize int32) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	p := organizations.NewListAWSServiceAccessForOrganizationPaginator(c.orgs, &organizations.ListAWSServiceAccessForOrganizationInput{MaxResults: aws.Int32(pageSize)})
	enabled := allPages(t, p.HasMorePages, p.NextPage, func(page *organizations.ListAWSServiceAccessForOrganizationOutput) []orgtypes.EnabledServicePrincipal {
		if len(page.EnabledServicePrincipals) > int(pageSize) {
			t.Fatalf("page of %d principals exceeds MaxResults %d", len(page.EnabledServicePrincipals), pageSize)
		}
		return page.EnabledServicePrincipals
	})
	for _, e := range enabled {
		out[*e.ServicePrincipal] = *e.DateEnabled
	}
	return out
}

func TestTrustedAccessLifecycle(t *testing.T) {
	env, org := startOrg(t, 4, 0)
	mgmt := assumeRole(t, env, org)
	member := accountClients(env, org.MemberAccountIDs[0])
	operator := newClients(env.OperatorConfig())

	if got := listPrincipals(t, mgmt, 20); len(got) != 0 {
		t.Fatalf("fresh organization lists %v", got)
	}
	enable := &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}
	if _, err := mgmt.orgs.EnableAWSServiceAccess(ctx(), enable); err != nil {
		t.Fatal(err)
	}
	first := listPrincipals(t, mgmt, 20)
	if first[ctPrincipal].IsZero() {
		t.Fatalf("enabled principal not listed with DateEnabled: %v", first)
	}
	// Enabling again changes nothing, DateEnabled included.
	if _, err := mgmt.orgs.EnableAWSServiceAccess(ctx(), enable); err != nil {
		t.Fatal(err)
	}
	if again := listPrincipals(t, mgmt, 20); !again[ctPrincipal].Equal(first[ctPrincipal]) {
		t.Fatalf("DateEnabled moved from %v to %v", first[ctPrincipal], again[ctPrincipal])
	}

	// Pagination: more principals than one page. trailgate's role may
	// enable only CloudTrail; the account's administrator enables the rest.
	admin := accountClients(env, org.ManagementAccountID)
	for _, p := range []string{"config.amazonaws.com", "guardduty.amazonaws.com", "securityhub.amazonaws.com"} {
		if _, err := admin.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(p)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := listPrincipals(t, mgmt, 1); len(got) != 4 {
		t.Fatalf("paging by 1 found %d principals, want 4: %v", len(got), got)
	}
	_, err := mgmt.orgs.ListAWSServiceAccessForOrganization(ctx(), &organizations.ListAWSServiceAccessForOrganizationInput{MaxResults: aws.Int32(21)})
	if e := wantType[*orgtypes.InvalidInputException](t, err); e.Reason != orgtypes.InvalidInputExceptionReasonMaxValueExceeded {
		t.Fatalf("reason %s", e.Reason)
	}
	_, err = mgmt.orgs.ListAWSServiceAccessForOrganization(ctx(), &organizations.ListAWSServiceAccessForOrganizationInput{MaxResults: aws.Int32(0)})
	wantType[*orgtypes.InvalidInputException](t, err)
	_, err = mgmt.orgs.ListAWSServiceAccessForOrganization(ctx(), &organizations.ListAWSServiceAccessForOrganizationInput{NextToken: aws.String("garbage")})
	if e := wantType[*orgtypes.InvalidInputException](t, err); e.Reason != orgtypes.InvalidInputExceptionReasonInvalidPaginationToken {
		t.Fatalf("reason %s", e.Reason)
	}

	_, err = admin.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String("nothing.amazonaws.com")})
	if e := wantType[*orgtypes.InvalidInputException](t, err); e.Reason != orgtypes.InvalidInputExceptionReasonUnrecognizedServicePrincipal {
		t.Fatalf("reason %s", e.Reason)
	}

	// Members are refused management-only calls; accounts outside any
	// organization are told so.
	_, err = member.orgs.EnableAWSServiceAccess(ctx(), enable)
	wantType[*orgtypes.AccessDeniedException](t, err)
	_, err = member.orgs.ListAWSServiceAccessForOrganization(ctx(), &organizations.ListAWSServiceAccessForOrganizationInput{})
	wantType[*orgtypes.AccessDeniedException](t, err)
	_, err = member.orgs.ListAccounts(ctx(), &organizations.ListAccountsInput{})
	wantType[*orgtypes.AccessDeniedException](t, err)
	if _, err := member.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{}); err != nil {
		t.Fatalf("members may describe their organization: %v", err)
	}
	_, err = operator.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	wantType[*orgtypes.AWSOrganizationsNotInUseException](t, err)
	_, err = operator.orgs.EnableAWSServiceAccess(ctx(), enable)
	wantType[*orgtypes.AWSOrganizationsNotInUseException](t, err)

	if _, err := mgmt.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}); err != nil {
		t.Fatal(err)
	}
	if got := listPrincipals(t, mgmt, 20); !got[ctPrincipal].IsZero() {
		t.Fatalf("disabled principal still listed: %v", got)
	}
	_, err = member.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)})
	wantType[*orgtypes.AccessDeniedException](t, err)
}

func TestListAccounts(t *testing.T) {
	env, org := startOrg(t, 5, 1)
	mgmt := accountClients(env, org.ManagementAccountID)
	var ids []string
	p := organizations.NewListAccountsPaginator(mgmt.orgs, &organizations.ListAccountsInput{MaxResults: aws.Int32(2)})
	for _, a := range allPages(t, p.HasMorePages, p.NextPage, func(o *organizations.ListAccountsOutput) []orgtypes.Account { return o.Accounts }) {
		ids = append(ids, *a.Id)
		if a.JoinedTimestamp == nil || *a.Arn == "" || a.Status != orgtypes.AccountStatusActive {
			t.Fatalf("account %+v", a)
		}
	}
	want := append([]string{org.ManagementAccountID}, org.MemberAccountIDs...)
	if len(ids) != len(want) {
		t.Fatalf("accounts %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("accounts %v, want %v", ids, want)
		}
	}
}

func TestConsolidatedBillingRefusesAllFeaturesCalls(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 6})
	cb, err := env.Sandbox.CreateOrganization(awssandbox.OrganizationSpec{Name: "billing-only", FeatureSet: "CONSOLIDATED_BILLING", Members: 1})
	if err != nil {
		t.Fatal(err)
	}
	mgmt := newClients(env.Config(cb.Management))
	desc := must[*organizations.DescribeOrganizationOutput](t)(mgmt.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{}))
	if desc.Organization.FeatureSet != orgtypes.OrganizationFeatureSetConsolidatedBilling {
		t.Fatalf("feature set %s", desc.Organization.FeatureSet)
	}
	_, err = mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)})
	if e := wantType[*orgtypes.ConstraintViolationException](t, err); e.Reason != orgtypes.ConstraintViolationExceptionReasonOrganizationNotInAllFeaturesMode {
		t.Fatalf("reason %s", e.Reason)
	}
	_, err = mgmt.orgs.RegisterDelegatedAdministrator(ctx(), &organizations.RegisterDelegatedAdministratorInput{AccountId: aws.String(cb.Members[0].ID), ServicePrincipal: aws.String(ctPrincipal)})
	wantType[*orgtypes.ConstraintViolationException](t, err)
	_, err = mgmt.ct.CreateTrail(ctx(), &cloudtrail.CreateTrailInput{Name: aws.String("org"), S3BucketName: aws.String("b-cb"), IsOrganizationTrail: aws.Bool(true)})
	wantType[*cttypes.OrganizationNotInAllFeaturesModeException](t, err)

	_, err = newClients(env.Config(cb.Members[0])).orgs.EnableAllFeatures(ctx(), &organizations.EnableAllFeaturesInput{})
	wantType[*orgtypes.AccessDeniedException](t, err)
	hs, err := mgmt.orgs.EnableAllFeatures(ctx(), &organizations.EnableAllFeaturesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if hs.Handshake.Action != orgtypes.ActionTypeEnableAllFeatures {
		t.Fatalf("handshake %+v", hs.Handshake)
	}
	_, err = mgmt.orgs.EnableAllFeatures(ctx(), &organizations.EnableAllFeaturesInput{})
	if e := wantType[*orgtypes.HandshakeConstraintViolationException](t, err); e.Reason != orgtypes.HandshakeConstraintViolationExceptionReasonOrganizationAlreadyHasAllFeatures {
		t.Fatalf("reason %s", e.Reason)
	}
	if _, err := mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}); err != nil {
		t.Fatalf("after EnableAllFeatures: %v", err)
	}
}

func TestCreateOrganization(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 7})
	a, err := env.Sandbox.CreateAccount("standalone")
	if err != nil {
		t.Fatal(err)
	}
	c := newClients(env.Config(a))
	_, err = c.orgs.DescribeOrganization(ctx(), &organizations.DescribeOrganizationInput{})
	wantType[*orgtypes.AWSOrganizationsNotInUseException](t, err)
	out, err := c.orgs.CreateOrganization(ctx(), &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Organization.MasterAccountId != a.ID || len(*out.Organization.Id) != 12 {
		t.Fatalf("organization %+v", out.Organization)
	}
	_, err = c.orgs.CreateOrganization(ctx(), &organizations.CreateOrganizationInput{})
	wantType[*orgtypes.AlreadyInOrganizationException](t, err)
	accts := must[*organizations.ListAccountsOutput](t)(c.orgs.ListAccounts(ctx(), &organizations.ListAccountsInput{}))
	if len(accts.Accounts) != 1 || *accts.Accounts[0].Id != a.ID {
		t.Fatalf("accounts %+v", accts.Accounts)
	}
}

func TestDelegatedAdministrators(t *testing.T) {
	env, org := startOrg(t, 8, 0)
	mgmt := accountClients(env, org.ManagementAccountID)
	member, other := org.MemberAccountIDs[0], org.MemberAccountIDs[1]
	reg := func(id string) error {
		_, err := mgmt.orgs.RegisterDelegatedAdministrator(ctx(), &organizations.RegisterDelegatedAdministratorInput{AccountId: aws.String(id), ServicePrincipal: aws.String(ctPrincipal)})
		return err
	}

	err := reg(member)
	if e := wantType[*orgtypes.ConstraintViolationException](t, err); e.Reason != orgtypes.ConstraintViolationExceptionReasonServiceAccessNotEnabled {
		t.Fatalf("reason %s", e.Reason)
	}
	_, err = mgmt.ct.RegisterOrganizationDelegatedAdmin(ctx(), &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(member)})
	wantType[*cttypes.CloudTrailAccessNotEnabledException](t, err)

	must[*organizations.EnableAWSServiceAccessOutput](t)(mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	_, err = mgmt.iam.GetRole(ctx(), iamGetRole("AWSServiceRoleForCloudTrail"))
	wantCode(t, err, "NoSuchEntity")

	// Registering through CloudTrail creates the management account's
	// service-linked role when it is missing.
	must[*cloudtrail.RegisterOrganizationDelegatedAdminOutput](t)(mgmt.ct.RegisterOrganizationDelegatedAdmin(ctx(), &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(member)}))
	wantRole(t, mgmt, "AWSServiceRoleForCloudTrail")
	_, err = mgmt.ct.RegisterOrganizationDelegatedAdmin(ctx(), &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(member)})
	wantType[*cttypes.AccountRegisteredException](t, err)
	wantType[*orgtypes.AccountAlreadyRegisteredException](t, reg(member))
	_, err = mgmt.ct.RegisterOrganizationDelegatedAdmin(ctx(), &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(org.ManagementAccountID)})
	wantType[*cttypes.CannotDelegateManagementAccountException](t, err)
	_, err = mgmt.ct.RegisterOrganizationDelegatedAdmin(ctx(), &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(env.Operator.ID)})
	wantType[*cttypes.AccountNotFoundException](t, err)
	if e := wantType[*orgtypes.ConstraintViolationException](t, reg(org.ManagementAccountID)); e.Reason != orgtypes.ConstraintViolationExceptionReasonCannotRegisterMasterAsDelegatedAdministrator {
		t.Fatalf("reason %s", e.Reason)
	}
	wantType[*orgtypes.AccountNotFoundException](t, reg(env.Operator.ID))
	_, err = accountClients(env, member).ct.RegisterOrganizationDelegatedAdmin(ctx(), &cloudtrail.RegisterOrganizationDelegatedAdminInput{MemberAccountId: aws.String(other)})
	wantType[*cttypes.NotOrganizationManagementAccountException](t, err)
	_, err = accountClients(env, other).orgs.RegisterDelegatedAdministrator(ctx(), &organizations.RegisterDelegatedAdministratorInput{AccountId: aws.String(other), ServicePrincipal: aws.String(ctPrincipal)})
	wantType[*orgtypes.AccessDeniedException](t, err)

	list := must[*organizations.ListDelegatedAdministratorsOutput](t)(mgmt.orgs.ListDelegatedAdministrators(ctx(), &organizations.ListDelegatedAdministratorsInput{ServicePrincipal: aws.String(ctPrincipal)}))
	if len(list.DelegatedAdministrators) != 1 || *list.DelegatedAdministrators[0].Id != member || list.DelegatedAdministrators[0].DelegationEnabledDate == nil {
		t.Fatalf("delegated administrators %+v", list.DelegatedAdministrators)
	}
	// A delegated administrator may read the organization.
	if _, err := accountClients(env, member).orgs.ListAWSServiceAccessForOrganization(ctx(), &organizations.ListAWSServiceAccessForOrganizationInput{}); err != nil {
		t.Fatalf("delegated administrator listing trusted access: %v", err)
	}

	must[*organizations.DeregisterDelegatedAdministratorOutput](t)(mgmt.orgs.DeregisterDelegatedAdministrator(ctx(), &organizations.DeregisterDelegatedAdministratorInput{AccountId: aws.String(member), ServicePrincipal: aws.String(ctPrincipal)}))
	_, err = mgmt.orgs.DeregisterDelegatedAdministrator(ctx(), &organizations.DeregisterDelegatedAdministratorInput{AccountId: aws.String(member), ServicePrincipal: aws.String(ctPrincipal)})
	wantType[*orgtypes.AccountNotRegisteredException](t, err)
	_, err = mgmt.ct.DeregisterOrganizationDelegatedAdmin(ctx(), &cloudtrail.DeregisterOrganizationDelegatedAdminInput{DelegatedAdminAccountId: aws.String(member)})
	wantType[*cttypes.AccountNotRegisteredException](t, err)

	must[*organizations.RegisterDelegatedAdministratorOutput](t)(mgmt.orgs.RegisterDelegatedAdministrator(ctx(), &organizations.RegisterDelegatedAdministratorInput{AccountId: aws.String(other), ServicePrincipal: aws.String(ctPrincipal)}))
	must[*cloudtrail.DeregisterOrganizationDelegatedAdminOutput](t)(mgmt.ct.DeregisterOrganizationDelegatedAdmin(ctx(), &cloudtrail.DeregisterOrganizationDelegatedAdminInput{DelegatedAdminAccountId: aws.String(other)}))
	list = must[*organizations.ListDelegatedAdministratorsOutput](t)(mgmt.orgs.ListDelegatedAdministrators(ctx(), &organizations.ListDelegatedAdministratorsInput{}))
	if len(list.DelegatedAdministrators) != 0 {
		t.Fatalf("delegated administrators after deregistering: %+v", list.DelegatedAdministrators)
	}
}

func TestPropagationDelay(t *testing.T) {
	now := time.Now()
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 9, Now: func() time.Time { return now }, PropagationDelay: time.Minute})
	mgmt := accountClients(env, env.Orgs[0].ManagementAccountID)
	must[*organizations.EnableAWSServiceAccessOutput](t)(mgmt.orgs.EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	if got := listPrincipals(t, mgmt, 20); len(got) != 0 {
		t.Fatalf("listed before the propagation delay: %v", got)
	}
	if on, err := env.Sandbox.TrustedAccess(env.Orgs[0].OrganizationID, ctPrincipal); err != nil || !on {
		t.Fatalf("the sandbox does not see the enable before the propagation delay: %t, %v", on, err)
	}
	now = now.Add(61 * time.Second)
	if got := listPrincipals(t, mgmt, 20); got[ctPrincipal].IsZero() {
		t.Fatalf("not listed after the propagation delay: %v", got)
	}
	must[*organizations.DisableAWSServiceAccessOutput](t)(mgmt.orgs.DisableAWSServiceAccess(ctx(), &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	if got := listPrincipals(t, mgmt, 20); got[ctPrincipal].IsZero() {
		t.Fatalf("a disable showed before the propagation delay: %v", got)
	}
	if on, err := env.Sandbox.TrustedAccess(env.Orgs[0].OrganizationID, ctPrincipal); err != nil || on {
		t.Fatalf("the sandbox does not see the disable before the propagation delay: %t, %v", on, err)
	}
	now = now.Add(61 * time.Second)
	if got := listPrincipals(t, mgmt, 20); len(got) != 0 {
		t.Fatalf("still listed after the propagation delay: %v", got)
	}
}
