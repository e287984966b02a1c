package awssandbox

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Account is a sandbox AWS account with the long-term access key of its
// administrator user.
type Account struct {
	ID    string
	Name  string
	Email string
	// UserName and UserARN are the administrator user the key belongs to.
	UserName string
	UserARN  string
	// AccessKeyID and SecretAccessKey sign requests as that user.
	AccessKeyID     string
	SecretAccessKey string
	// OrganizationID is the organization the account belongs to, if any.
	OrganizationID string
}

// Organization is a sandbox AWS organization and its accounts.
type Organization struct {
	ID         string
	Name       string // the label it was created with
	FeatureSet string // ALL or CONSOLIDATED_BILLING
	Management Account
	Members    []Account // member accounts, management excluded
}

// OrganizationSpec says what CreateOrganization builds.
type OrganizationSpec struct {
	// Name labels the organization; accounts are named <Name>-management
	// and <Name>-member-<n>.
	Name string
	// FeatureSet is ALL (the default) or CONSOLIDATED_BILLING.
	FeatureSet string
	// Members is the number of member accounts besides the management one.
	Members int
}

// RoleSpec says what CreateRole builds.
type RoleSpec struct {
	AccountID string
	Name      string
	// TrustedAccountID, when set, may assume the role (its whole account,
	// as arn:aws:iam::<id>:root), with ExternalID required when set.
	TrustedAccountID string
	ExternalID       string
	// TrustPolicy replaces the policy built from TrustedAccountID.
	TrustPolicy        string
	Description        string
	MaxSessionDuration time.Duration
}

// administratorUser is the IAM user every sandbox account's key belongs to.
const administratorUser = "sandbox-admin"

// CreateAccount creates a standalone account (in no organization) with an
// administrator user and its access key.
func (s *Sandbox) CreateAccount(name string) (Account, error) {
	if strings.TrimSpace(name) == "" {
		return Account{}, errors.New("create sandbox account: name is empty")
	}
	return s.createAccountNamed(name, administratorUser)
}

func (s *Sandbox) createAccountNamed(name, userName string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.createAccountLocked(name, userName)
	if err := s.commit(); err != nil {
		return Account{}, fmt.Errorf("create sandbox account %s: %w", name, err)
	}
	return s.exportAccount(a), nil
}

var emailUnsafe = regexp.MustCompile(`[^a-z0-9.+-]+`)

func (s *Sandbox) createAccountLocked(name, userName string) *account {
	g := s.ids
	id := g.accountID()
	for s.st.Accounts[id] != nil {
		id = g.accountID()
	}
	a := &account{
		ID:        id,
		Name:      name,
		Email:     emailUnsafe.ReplaceAllString(strings.ToLower(name), "-") + "@example.com",
		UserName:  userName,
		UserID:    g.userID(),
		CreatedAt: s.now(),
		Roles:     map[string]*role{},
	}
	key := &accessKey{AccessKeyID: g.accessKeyID("AKIA"), SecretAccessKey: g.secret(), AccountID: id, UserName: userName}
	a.KeyID = key.AccessKeyID
	s.st.Accounts[id] = a
	s.st.Keys[key.AccessKeyID] = key
	s.dirty = true
	return a
}

func (s *Sandbox) exportAccount(a *account) Account {
	out := Account{
		ID: a.ID, Name: a.Name, Email: a.Email,
		UserName: a.UserName, UserARN: a.userARN(),
		OrganizationID: a.OrganizationID,
	}
	if k := s.st.Keys[a.KeyID]; k != nil {
		out.AccessKeyID, out.SecretAccessKey = k.AccessKeyID, k.SecretAccessKey
	}
	return out
}

// Account returns the account with the given ID.
func (s *Sandbox) Account(id string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[id]
	if a == nil {
		return Account{}, fmt.Errorf("sandbox account %s does not exist", id)
	}
	return s.exportAccount(a), nil
}

// Accounts returns every account, ordered by name.
func (s *Sandbox) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return exportedByName(s.st.Accounts, s.exportAccount, func(a Account) string { return a.Name })
}

// exportedByName exports every value of m, ordered by name.
func exportedByName[V, T any](m map[string]V, export func(V) T, name func(T) string) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, export(v))
	}
	sort.Slice(out, func(i, j int) bool { return name(out[i]) < name(out[j]) })
	return out
}

// CreateOrganization creates a management account, its organization and
// member accounts created from within it.
func (s *Sandbox) CreateOrganization(spec OrganizationSpec) (Organization, error) {
	if spec.FeatureSet == "" {
		spec.FeatureSet = "ALL"
	}
	if spec.FeatureSet != "ALL" && spec.FeatureSet != "CONSOLIDATED_BILLING" {
		return Organization{}, fmt.Errorf("create sandbox organization %s: feature set %q is neither ALL nor CONSOLIDATED_BILLING", spec.Name, spec.FeatureSet)
	}
	if strings.TrimSpace(spec.Name) == "" {
		return Organization{}, errors.New("create sandbox organization: name is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mgmt := s.createAccountLocked(spec.Name+"-management", administratorUser)
	o := s.createOrganizationLocked(mgmt, spec.FeatureSet)
	o.Label = spec.Name
	for i := 1; i <= spec.Members; i++ {
		m := s.createAccountLocked(fmt.Sprintf("%s-member-%d", spec.Name, i), administratorUser)
		s.joinLocked(o, m, "CREATED")
	}
	for _, id := range o.Members {
		if id == mgmt.ID {
			continue
		}
		if err := s.createMemberAccessRoleLocked(s.st.Accounts[id], mgmt.ID); err != nil {
			return Organization{}, fmt.Errorf("create sandbox organization %s: %w", spec.Name, err)
		}
	}
	if err := s.commit(); err != nil {
		return Organization{}, fmt.Errorf("create sandbox organization %s: %w", spec.Name, err)
	}
	return s.exportOrganization(o), nil
}

func (s *Sandbox) createOrganizationLocked(mgmt *account, featureSet string) *organization {
	o := &organization{
		ID:                  s.ids.organizationID(),
		FeatureSet:          featureSet,
		ManagementAccountID: mgmt.ID,
		RootID:              s.ids.rootID(),
		CreatedAt:           s.now(),
		ServiceAccess:       map[string]*toggle{},
		Delegations:         map[string]map[string]*toggle{},
	}
	s.st.Organizations[o.ID] = o
	s.joinLocked(o, mgmt, "CREATED")
	s.dirty = true
	return o
}

func (s *Sandbox) joinLocked(o *organization, a *account, method string) {
	a.OrganizationID = o.ID
	a.JoinedMethod = method
	a.JoinedAt = s.now()
	o.Members = append(o.Members, a.ID)
	s.dirty = true
}

func (s *Sandbox) exportOrganization(o *organization) Organization {
	out := Organization{ID: o.ID, Name: o.Label, FeatureSet: o.FeatureSet}
	for _, id := range o.Members {
		a := s.exportAccount(s.st.Accounts[id])
		if id == o.ManagementAccountID {
			out.Management = a
		} else {
			out.Members = append(out.Members, a)
		}
	}
	return out
}

// Organizations returns every organization, ordered by name.
func (s *Sandbox) Organizations() []Organization {
	s.mu.Lock()
	defer s.mu.Unlock()
	return exportedByName(s.st.Organizations, s.exportOrganization, func(o Organization) string { return o.Name })
}

// CreateRole creates an IAM role and returns its ARN.
func (s *Sandbox) CreateRole(spec RoleSpec) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[spec.AccountID]
	if a == nil {
		return "", fmt.Errorf("create sandbox role %s: account %s does not exist", spec.Name, spec.AccountID)
	}
	trust := spec.TrustPolicy
	if trust == "" {
		if spec.TrustedAccountID == "" {
			return "", fmt.Errorf("create sandbox role %s: neither a trust policy nor a trusted account", spec.Name)
		}
		trust = trustPolicyFor(spec.TrustedAccountID, spec.ExternalID)
	}
	maxSession := int(spec.MaxSessionDuration / time.Second)
	if maxSession == 0 {
		maxSession = 3600
	}
	r, aerr := s.createRoleLocked(a, spec.Name, "/", trust, spec.Description, maxSession, nil, "")
	if aerr != nil {
		return "", fmt.Errorf("create sandbox role %s in %s: %w", spec.Name, spec.AccountID, aerr)
	}
	if err := s.commit(); err != nil {
		return "", fmt.Errorf("create sandbox role %s: %w", spec.Name, err)
	}
	return roleARN(a.ID, r), nil
}

// trustPolicyFor is a trust policy letting account assume a role, with an
// external ID when one is given.
func trustPolicyFor(accountID, externalID string) string {
	cond := ""
	if externalID != "" {
		cond = fmt.Sprintf(`,"Condition":{"StringEquals":{"sts:ExternalId":%q}}`, externalID)
	}
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"%s}]}`, accountID, cond)
}

// SetTrustedAccess enables or disables trusted access for a service
// principal in an organization, as EnableAWSServiceAccess and
// DisableAWSServiceAccess do; for setting up tests.
func (s *Sandbox) SetTrustedAccess(organizationID, servicePrincipal string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.Organizations[organizationID]
	if o == nil {
		return fmt.Errorf("set trusted access for %s: organization %s does not exist", servicePrincipal, organizationID)
	}
	s.setServiceAccessLocked(o, servicePrincipal, enabled)
	return s.commit()
}

// TrustedAccess reports whether trusted access for a service principal is
// in effect in an organization now, as the service itself sees it: List*
// calls may show the previous value until the propagation delay has passed.
// For tests that must see a change that has not propagated yet.
func (s *Sandbox) TrustedAccess(organizationID, servicePrincipal string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.Organizations[organizationID]
	if o == nil {
		return false, fmt.Errorf("read trusted access for %s: organization %s does not exist", servicePrincipal, organizationID)
	}
	return o.trustedAccess(servicePrincipal), nil
}

func (s *Sandbox) setServiceAccessLocked(o *organization, principal string, on bool) {
	t := o.ServiceAccess[principal]
	if t == nil {
		t = &toggle{}
		o.ServiceAccess[principal] = t
	}
	t.set(on, s.now(), s.delay)
	s.dirty = true
}

// MemberAccessRoleName is the role AWS Organizations creates in every
// account it creates, for the management account to administer it.
const MemberAccessRoleName = "OrganizationAccountAccessRole"

// createMemberAccessRoleLocked gives a member account the role AWS
// Organizations creates in it: trusted by the management account, allowed
// everything. The caller holds s.mu.
func (s *Sandbox) createMemberAccessRoleLocked(member *account, managementID string) error {
	r, aerr := s.createRoleLocked(member, MemberAccessRoleName, "/", trustPolicyFor(managementID, ""), "", 3600, nil, "")
	if aerr != nil {
		return fmt.Errorf("create %s in %s: %w", MemberAccessRoleName, member.ID, aerr)
	}
	r.Policies = map[string]string{"AdministratorAccess": administratorAccess}
	return nil
}

// administratorAccess is AWS's AdministratorAccess policy.
const administratorAccess = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
