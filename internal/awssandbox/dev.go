package awssandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/trailgate/trailgate/iam"
)

// The dev default's fixed layout. The seed fixes account IDs and keys, so
// that every fresh dev default gets the same ones.
const (
	devSeed = 20161128
	// DevOperatorProfile is the AWS profile of the operator account, the
	// worker's base credentials in the dev default.
	DevOperatorProfile = "trailgate-operator"
	// DevRoleName is the role trailgate assumes in each management account.
	DevRoleName = "TrailgateOperator"
	// DevStateFile is the sandbox state file's name under the data directory.
	DevStateFile    = "aws-sandbox.json"
	devOperatorName = "trailgate-operator"
	devPeopleName   = "trailgate-people"
)

// devOrganizationNames are the dev default's first organizations.
var devOrganizationNames = []string{"acme-prod", "acme-staging", "globex"}

// DevOrganizations is how many organizations a dev default has unless it
// is asked for another number.
const DevOrganizations = 3

// DevOrganizationName names the dev default's i-th organization (from 0):
// the named ones first, then org-0004 onwards.
func DevOrganizationName(i int) string {
	if i < len(devOrganizationNames) {
		return devOrganizationNames[i]
	}
	return fmt.Sprintf("org-%04d", i+1)
}

// DevPeopleNames are the people of the dev default: each is an IAM user of
// the people account, and the name of the AWS profile that signs as them.
var DevPeopleNames = []string{"alice", "bob", "carol", "dave"}

// DevOrganization is one seeded organization and how trailgate reaches it.
type DevOrganization struct {
	Name                string
	OrganizationID      string
	ManagementAccountID string
	MemberAccountIDs    []string
	// RoleARN is a role in the management account that the operator
	// account may assume with ExternalID.
	RoleARN    string
	ExternalID string
}

// DevPerson is one of the dev default's people: an IAM user without
// policies, who can prove who they are and do nothing else.
type DevPerson struct {
	Name string
	// ARN is the user's, e.g. arn:aws:iam::<people account>:user/alice.
	ARN string
	// Profile is the AWS profile that signs as the user.
	Profile string
}

// DevLayout is the dev default: what the seeding built, saved with the
// state.
type DevLayout struct {
	OperatorAccountID string            `json:"operatorAccountId"`
	Organizations     []DevOrganization `json:"organizations"`
	// PeopleAccountID and People are empty in states saved before the dev
	// default had people; DevDefault adds them.
	PeopleAccountID string      `json:"peopleAccountId,omitempty"`
	People          []DevPerson `json:"people,omitempty"`
}

func (l *DevLayout) hasPerson(name string) bool {
	return slices.ContainsFunc(l.People, func(p DevPerson) bool { return p.Name == name })
}

// lacksPeople reports whether some of DevPeopleNames are not in the layout.
func (l *DevLayout) lacksPeople() bool {
	return !slices.ContainsFunc(DevPeopleNames, l.hasPerson)
}

// seedOrganizations builds the default layout, or grows it, to n
// organizations with all features and no trusted access, each a management
// account and two members, and an operator account outside them that may
// assume TrailgateOperator in each management account. It saves the state
// once, at the end, so that seeding thousands takes seconds. seedPeople
// adds the people.
func (s *Sandbox) seedOrganizations(layout *DevLayout, n int) (*DevLayout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next DevLayout
	if layout == nil {
		next.OperatorAccountID = s.createAccountLocked(devOperatorName, devOperatorName).ID
	} else {
		next = *layout
		next.Organizations = slices.Clone(layout.Organizations)
	}
	for i := len(next.Organizations); i < n; i++ {
		d, err := s.seedOrganizationLocked(DevOrganizationName(i), next.OperatorAccountID)
		if err != nil {
			return nil, err
		}
		next.Organizations = append(next.Organizations, d)
	}
	s.st.Dev = &next
	s.dirty = true
	if err := s.commit(); err != nil {
		return nil, err
	}
	return &next, nil
}

// seedOrganizationLocked creates one organization of the dev default and
// the role the operator account assumes in its management account.
func (s *Sandbox) seedOrganizationLocked(name, operatorID string) (DevOrganization, error) {
	mgmt := s.createAccountLocked(name+"-management", administratorUser)
	o := s.createOrganizationLocked(mgmt, "ALL")
	o.Label = name
	var members []*account
	for i := 1; i <= 2; i++ {
		m := s.createAccountLocked(fmt.Sprintf("%s-member-%d", name, i), administratorUser)
		s.joinLocked(o, m, "CREATED")
		members = append(members, m)
	}
	for _, m := range members {
		if err := s.createMemberAccessRoleLocked(m, mgmt.ID); err != nil {
			return DevOrganization{}, fmt.Errorf("seed organization %s: %w", name, err)
		}
	}
	externalID := "trailgate-" + name
	trust := iam.TrustPolicyFor("arn:aws:iam::"+operatorID+":root", externalID)
	r, aerr := s.createRoleLocked(mgmt, DevRoleName, "/", trust, "Lets the trailgate operator account manage CloudTrail trusted access.", 3600, nil, "")
	if aerr != nil {
		return DevOrganization{}, fmt.Errorf("seed organization %s: %w", name, aerr)
	}
	d := DevOrganization{
		Name:                name,
		OrganizationID:      o.ID,
		ManagementAccountID: mgmt.ID,
		RoleARN:             roleARN(mgmt.ID, r),
		ExternalID:          externalID,
	}
	for _, id := range o.Members {
		if id != mgmt.ID {
			d.MemberAccountIDs = append(d.MemberAccountIDs, id)
		}
	}
	return d, nil
}

// seedPeople gives the layout the people account and those of
// DevPeopleNames it lacks, in one commit, so that a state saved before the
// dev default had people gains them.
func (s *Sandbox) seedPeople(layout *DevLayout) (*DevLayout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *layout
	next.People = slices.Clone(layout.People)
	if next.PeopleAccountID == "" {
		next.PeopleAccountID = s.createAccountLocked(devPeopleName, administratorUser).ID
	}
	a := s.st.Accounts[next.PeopleAccountID]
	if a == nil {
		return nil, fmt.Errorf("the people account %s is missing from the sandbox state: remove the state file to seed the dev default afresh", next.PeopleAccountID)
	}
	for _, name := range DevPeopleNames {
		if next.hasPerson(name) {
			continue
		}
		u, err := s.createUserLocked(a, name)
		if err != nil {
			return nil, err
		}
		next.People = append(next.People, DevPerson{Name: name, ARN: u.arn(a.ID), Profile: name})
	}
	s.st.Dev = &next
	s.dirty = true
	if err := s.commit(); err != nil {
		return nil, err
	}
	return &next, nil
}

// DevDefault returns the dev default's layout with DevOrganizations
// organizations; see DevDefaultOf.
func (s *Sandbox) DevDefault() (*DevLayout, error) {
	return s.DevDefaultOf(DevOrganizations)
}

// DevDefaultOf returns the dev default's layout, seeding it with n
// organizations first when the state has none, adding organizations when
// it has fewer than n, and adding the people when it has none of them. A
// state with more than n organizations is refused, unchanged: the
// organizations of a data directory are never removed.
func (s *Sandbox) DevDefaultOf(n int) (*DevLayout, error) {
	if n < 1 {
		return nil, fmt.Errorf("seed the sandbox organizations: %d organizations asked for; ask for at least one", n)
	}
	s.mu.Lock()
	layout := s.st.Dev
	s.mu.Unlock()
	if layout != nil && len(layout.Organizations) > n {
		return nil, fmt.Errorf("the sandbox state already holds %d organizations and %d were asked for: organizations are never removed; ask for %d or more (dev.organizations), or use a fresh data directory", len(layout.Organizations), n, len(layout.Organizations))
	}
	if layout == nil || len(layout.Organizations) < n {
		var err error
		if layout, err = s.seedOrganizations(layout, n); err != nil {
			return nil, fmt.Errorf("seed the default sandbox organizations: %w", err)
		}
	}
	if layout.lacksPeople() {
		var err error
		if layout, err = s.seedPeople(layout); err != nil {
			return nil, fmt.Errorf("seed the default sandbox people: %w", err)
		}
	}
	if err := s.applyShippedPolicies(layout); err != nil {
		return nil, fmt.Errorf("give the default sandbox roles trailgate's IAM policies: %w", err)
	}
	return layout, nil
}

// DevRolePolicyName names the inline policy of each organization's
// DevRoleName: iam.RolePolicy, the policy trailgate ships.
const DevRolePolicyName = "trailgate"

// applyShippedPolicies gives each organization's DevRoleName the policies
// trailgate ships (iam/): the trust policy for the operator account with the
// organization's external ID, and iam.RolePolicy as its identity policy, so
// that everything trailgate does in the dev default and in tests runs under
// least privilege. It also makes sure each member account has
// MemberAccessRoleName and that its trust policy lets the management account
// carry a source identity into it (sts:SetSourceIdentity), which the role
// AWS Organizations creates lacks. It runs on every start, so that a saved
// state follows the policies as they change; other inline policies of the
// role are kept.
func (s *Sandbox) applyShippedPolicies(layout *DevLayout) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range layout.Organizations {
		mgmt := s.st.Accounts[o.ManagementAccountID]
		if mgmt == nil || mgmt.Roles[DevRoleName] == nil {
			return fmt.Errorf("the role %s of organization %s is missing from the sandbox state: remove the state file to seed the dev default afresh", o.RoleARN, o.Name)
		}
		r := mgmt.Roles[DevRoleName]
		if trust := iam.TrustPolicyFor("arn:aws:iam::"+layout.OperatorAccountID+":root", o.ExternalID); r.TrustPolicy != trust {
			r.TrustPolicy = trust
			s.dirty = true
		}
		if r.Policies[DevRolePolicyName] != iam.RolePolicy {
			if aerr := s.putRolePolicyLocked(mgmt, DevRoleName, DevRolePolicyName, iam.RolePolicy); aerr != nil {
				return fmt.Errorf("put %s on %s: %w", DevRolePolicyName, o.RoleARN, aerr)
			}
		}
		for _, id := range o.MemberAccountIDs {
			member := s.st.Accounts[id]
			if member == nil {
				return fmt.Errorf("member account %s of organization %s is missing from the sandbox state", id, o.Name)
			}
			if member.Roles[MemberAccessRoleName] == nil {
				if err := s.createMemberAccessRoleLocked(member, o.ManagementAccountID); err != nil {
					return err
				}
			}
			if trust := memberAccessTrust(o.ManagementAccountID); member.Roles[MemberAccessRoleName].TrustPolicy != trust {
				member.Roles[MemberAccessRoleName].TrustPolicy = trust
				s.dirty = true
			}
		}
	}
	return s.commit()
}

// memberAccessTrust is MemberAccessRoleName's trust policy with
// sts:SetSourceIdentity besides sts:AssumeRole: a session that carries a
// source identity (as trailgate's do) can chain into the role only so.
func memberAccessTrust(managementID string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + managementID + `:root"},"Action":["sts:AssumeRole","sts:SetSourceIdentity"]}]}`
}

// DevEnvironment is a running dev default sandbox.
type DevEnvironment struct {
	// Endpoint is the sandbox's URL, e.g. http://127.0.0.1:4566.
	Endpoint string
	// ConfigFile and CredentialsFile are AWS shared files with one profile
	// per sandbox account, each pointing at Endpoint.
	ConfigFile, CredentialsFile string
	// OperatorProfile is the operator account's profile.
	OperatorProfile string
	// Profiles are the account profiles: each organization's management and
	// members, and the operator.
	Profiles []string
	// RoleProfiles assume each organization's TrailgateOperator role from
	// the operator profile, as trailgate does.
	RoleProfiles  []string
	Organizations []DevOrganization
	// PeopleAccountID is the account of People, outside the organizations.
	PeopleAccountID string
	// People are DevPeopleNames, each with a profile named after them.
	People []DevPerson
	// Sandbox is the running sandbox.
	Sandbox *Sandbox
	// Close stops serving.
	Close func(ctx context.Context) error
}

// StartDev starts the dev default sandbox with DevOrganizations
// organizations; see StartDevOf.
func StartDev(ctx context.Context, dataDir, addr string) (*DevEnvironment, error) {
	return StartDevOf(ctx, dataDir, addr, DevOrganizations)
}

// StartDevOf starts the dev default sandbox: it loads the state at
// <dataDir>/aws-sandbox.json or seeds it with organizations organizations
// (see DevDefaultOf), listens on addr, writes the AWS shared config and
// credentials files under dataDir and serves until Close.
func StartDevOf(ctx context.Context, dataDir, addr string, organizations int) (*DevEnvironment, error) {
	return StartDevServing(ctx, dataDir, addr, "", organizations)
}

// StartDevServing is StartDevOf for a sandbox that others reach by another
// address than the one it listens on (a container's name, say): endpoint is
// the URL its AWS shared files and Endpoint give; empty means the
// listener's own address.
func StartDevServing(ctx context.Context, dataDir, addr, endpoint string, organizations int) (*DevEnvironment, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("start aws sandbox: create data directory %s: %w", dataDir, err)
	}
	s, err := New(Options{StateFile: filepath.Join(dataDir, DevStateFile), Seed: devSeed})
	if err != nil {
		return nil, err
	}
	layout, err := s.DevDefaultOf(organizations)
	if err != nil {
		return nil, fmt.Errorf("start aws sandbox: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			_, port, _ := net.SplitHostPort(addr)
			return nil, fmt.Errorf("start aws sandbox: port %s is already in use (address %s); stop what listens there or choose another sandbox port: %w", port, addr, err)
		}
		return nil, fmt.Errorf("start aws sandbox: listen on %s: %w", addr, err)
	}
	if endpoint == "" {
		endpoint = "http://" + ln.Addr().String()
	}
	env := &DevEnvironment{
		Endpoint:        endpoint,
		ConfigFile:      filepath.Join(dataDir, "aws-config"),
		CredentialsFile: filepath.Join(dataDir, "aws-credentials"),
		OperatorProfile: DevOperatorProfile,
		Organizations:   layout.Organizations,
		PeopleAccountID: layout.PeopleAccountID,
		People:          layout.People,
		Sandbox:         s,
	}
	if err := env.writeSharedFiles(s, layout); err != nil {
		ln.Close()
		return nil, fmt.Errorf("start aws sandbox: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	env.Close = func(ctx context.Context) error {
		if err := srv.Shutdown(ctx); err != nil {
			return fmt.Errorf("stop aws sandbox: %w", err)
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("stop aws sandbox: %w", err)
		}
		return nil
	}
	return env, nil
}

// writeSharedFiles writes the AWS config and credentials files: one
// profile per account, one per organization that assumes its role, and one
// per person.
func (env *DevEnvironment) writeSharedFiles(s *Sandbox, layout *DevLayout) error {
	var cfg, creds strings.Builder
	cfg.WriteString("# AWS profiles of the trailgate AWS sandbox (" + env.Endpoint + ").\n")
	cfg.WriteString("# AWS CLI versions before 2.13 ignore endpoint_url: pass --endpoint-url " + env.Endpoint + ".\n")
	creds.WriteString("# Credentials of the trailgate AWS sandbox accounts; not AWS credentials.\n")
	profile := func(name string, extra ...string) {
		fmt.Fprintf(&cfg, "\n[profile %s]\nregion = %s\noutput = json\nendpoint_url = %s\n", name, s.Region(), env.Endpoint)
		for _, line := range extra {
			cfg.WriteString(line + "\n")
		}
		cfg.WriteString("s3 =\n    addressing_style = path\n")
	}
	key := func(name, id, secret string) {
		profile(name)
		fmt.Fprintf(&creds, "\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", name, id, secret)
	}
	account := func(name, id string) error {
		a, err := s.Account(id)
		if err != nil {
			return err
		}
		key(name, a.AccessKeyID, a.SecretAccessKey)
		env.Profiles = append(env.Profiles, name)
		return nil
	}
	for _, o := range layout.Organizations {
		if err := account(o.Name+"-management", o.ManagementAccountID); err != nil {
			return err
		}
		for i, m := range o.MemberAccountIDs {
			if err := account(fmt.Sprintf("%s-member-%d", o.Name, i+1), m); err != nil {
				return err
			}
		}
	}
	if err := account(DevOperatorProfile, layout.OperatorAccountID); err != nil {
		return err
	}
	for _, o := range layout.Organizations {
		name := o.Name + "-" + strings.ToLower(DevRoleName)
		profile(name,
			"role_arn = "+o.RoleARN,
			"external_id = "+o.ExternalID,
			"source_profile = "+DevOperatorProfile,
			"role_session_name = trailgate-cli")
		env.RoleProfiles = append(env.RoleProfiles, name)
	}
	for _, p := range layout.People {
		u, err := s.User(layout.PeopleAccountID, p.Name)
		if err != nil {
			return err
		}
		key(p.Profile, u.AccessKeyID, u.SecretAccessKey)
	}
	if err := writeFileAtomic(env.ConfigFile, []byte(cfg.String())); err != nil {
		return err
	}
	return writeFileAtomic(env.CredentialsFile, []byte(creds.String()))
}
