package activities

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/brief"
	"github.com/trailgate/trailgate/internal/proof"
)

// Application error types of the worker's authority.
const (
	// ErrUnknownOrganization: a change names an organization the worker's
	// configuration does not have (or no longer has as it was).
	ErrUnknownOrganization = "UnknownOrganization"
	// ErrProofRefused: a proof of identity that can never pass.
	ErrProofRefused = "ProofRefused"
)

// Authority is what the worker's own configuration decides for every change:
// how each organization is reached, the managed trail, who may decide at
// the gates, and how people prove who they are. A change's input only names
// organizations; nothing the requester configures reaches here.
type Authority struct {
	Organizations []config.Organization
	Trail         config.Trail
	// Regions are where the inventory looks for event data stores.
	Regions   []string
	Approvals config.Approvals
	// Notifications is where reminders and drift are announced, with the
	// deprecated approvals.webhook_url already folded in.
	Notifications config.Notifications
	People        []config.Person
	AllowClaims   bool
	// ProofKey opens people's sealed proofs; Verifier asks STS who signed
	// them. Without a key, every proof is refused.
	ProofKey *proof.PrivateKey
	Verifier proof.Verifier
}

// AuthorityFromConfig is the authority a worker's configuration describes,
// copied: nothing that shares the configuration's lists can change it later.
func AuthorityFromConfig(cfg config.Config, key *proof.PrivateKey) Authority {
	approvals := cfg.Approvals
	approvals.Approvers = slices.Clone(approvals.Approvers)
	approvals.CloudTrailAdmins = slices.Clone(approvals.CloudTrailAdmins)
	trail := cfg.Trail
	trail.DelegatedAdministrators = slices.Clone(trail.DelegatedAdministrators)
	people := make([]config.Person, 0, len(cfg.People))
	for _, p := range cfg.People {
		people = append(people, config.Person{Name: p.Name, Principals: slices.Clone(p.Principals)})
	}
	return Authority{
		Organizations: slices.Clone(cfg.Organizations),
		Trail:         trail,
		Regions:       slices.Clone(cfg.AWS.InventoryRegions()),
		Approvals:     approvals,
		Notifications: config.Notifications{WebhookURL: cfg.Webhook(), Format: cfg.Notifications.Format},
		People:        people,
		AllowClaims:   cfg.Identity.AllowClaims,
		ProofKey:      key,
		Verifier:      proof.Verifier{Endpoint: cfg.STSEndpoint()},
	}
}

// organization finds an organization of a change in the worker's
// configuration; a name it does not know, or one whose management account
// changed since the change started, is a non-retryable error.
func (auth Authority) organization(in OrgInput) (config.Organization, error) {
	i := slices.IndexFunc(auth.Organizations, func(o config.Organization) bool { return o.Name == in.Organization })
	if i < 0 {
		return config.Organization{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"organization %s is not in the worker's configuration (known: %s); add it under organizations: in the worker's configuration, or name another",
			in.Organization, brief.List(auth.names(), knownShown)), ErrUnknownOrganization, nil)
	}
	org := auth.Organizations[i]
	if in.ManagementAccountID != "" && org.ManagementAccountID != in.ManagementAccountID {
		return config.Organization{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"organization %s had management account %s when the change started, but the worker's configuration now says %s; a running change keeps the organizations it started with: cancel it and request a new one",
			in.Organization, in.ManagementAccountID, org.ManagementAccountID), ErrUnknownOrganization, nil)
	}
	return org, nil
}

// knownShown is how many organization names an error lists before it
// counts the rest: a configuration of 10,000 made an error of 120 KB.
const knownShown = 10

func (auth Authority) names() []string {
	return mapped(auth.Organizations, func(o config.Organization) string { return o.Name })
}

// ResolveInput names the organizations of a change, as its requester chose
// them.
type ResolveInput struct {
	Organizations []string `json:"organizations"`
	// ManageTrail asks for the managed trail's settings (enable).
	ManageTrail bool `json:"manage_trail"`
	// PolicyOnly checks that the configuration knows every organization
	// and answers with the policy alone: a change over more organizations
	// than one payload holds resolves each wave's when the wave starts.
	PolicyOnly bool `json:"policy_only,omitempty"`
}

// Resolution is what the worker's configuration says about a change when
// it starts: each organization as reached (without role or external ID),
// and the gate policy in force for the change's whole life.
type Resolution struct {
	Organizations []OrgInput `json:"organizations"`
	Policy        Policy     `json:"policy"`
}

// Policy is who may decide at a change's gates, how they prove it, and how
// long gates wait. It is fixed when the change starts.
type Policy struct {
	// RequiredApprovals is how many distinct approvers an approval gate needs.
	RequiredApprovals int `json:"required_approvals"`
	// Approvers may approve or reject; empty means any proven person but
	// the requester.
	Approvers []string `json:"approvers"`
	// CloudTrailAdmins may confirm cleanup before a disable.
	CloudTrailAdmins []string `json:"cloudtrail_admins"`
	// People map the AWS principals that prove each person.
	People []Person `json:"people"`
	// AllowClaims accepts a typed name without proof, marked as claimed.
	AllowClaims bool `json:"allow_claims"`
	// Timeout is how long a gate waits before the change ends as expired,
	// with nothing changed.
	Timeout time.Duration `json:"timeout"`
	// ReminderEvery is how often a waiting gate reminds people.
	ReminderEvery time.Duration `json:"reminder_every"`
}

// Person is one person of the policy and the principals (ARNs or patterns
// with *) that prove them.
type Person struct {
	Name       string   `json:"name"`
	Principals []string `json:"principals"`
}

// ResolveChange resolves a change's organizations and policy against the
// worker's configuration. An organization it does not know is a
// non-retryable error that names it.
func (a *Activities) ResolveChange(_ context.Context, in ResolveInput) (Resolution, error) {
	res := Resolution{Organizations: make([]OrgInput, 0, len(in.Organizations)), Policy: a.authority.policy()}
	var unknown []string
	for _, name := range in.Organizations {
		org, err := a.authority.organization(OrgInput{Organization: name})
		if err != nil {
			unknown = append(unknown, name)
			continue
		}
		o := OrgInput{Organization: org.Name, ManagementAccountID: org.ManagementAccountID, ProbeRoleARN: org.ProbeRole()}
		if in.ManageTrail && a.authority.Trail.Name != "" {
			t := a.authority.Trail.For(org)
			o.Trail = TrailSettings{Name: t.Name, Bucket: t.Bucket, MultiRegion: t.MultiRegion, LogFileValidation: t.LogFileValidation, KMSKeyID: t.KMSKeyID}
		}
		if in.ManageTrail {
			o.Trail.DelegatedAdministrators = slices.Clone(a.authority.Trail.DelegatedAdministratorsOf(org))
		}
		res.Organizations = append(res.Organizations, o)
	}
	if len(unknown) > 0 {
		return Resolution{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"the worker's configuration has no organization %s (known: %s); the worker decides which organizations exist: name known ones, or add them to the worker's configuration",
			brief.List(unknown, knownShown), brief.List(a.authority.names(), knownShown)), ErrUnknownOrganization, nil)
	}
	if in.PolicyOnly {
		res.Organizations = []OrgInput{}
	}
	return res, nil
}

// ResolvePolicy is the gate policy of the worker's configuration alone.
func (a *Activities) ResolvePolicy(context.Context) (Policy, error) {
	return a.authority.policy(), nil
}

func (auth Authority) policy() Policy {
	p := Policy{
		RequiredApprovals: auth.Approvals.Required,
		Approvers:         slices.Clone(auth.Approvals.Approvers),
		CloudTrailAdmins:  slices.Clone(auth.Approvals.CloudTrailAdmins),
		People:            make([]Person, 0, len(auth.People)),
		AllowClaims:       auth.AllowClaims,
		Timeout:           auth.Approvals.Timeout,
		ReminderEvery:     auth.Approvals.ReminderEvery,
	}
	if p.Approvers == nil {
		p.Approvers = []string{}
	}
	if p.CloudTrailAdmins == nil {
		p.CloudTrailAdmins = []string{}
	}
	for _, person := range auth.People {
		p.People = append(p.People, Person{Name: person.Name, Principals: slices.Clone(person.Principals)})
	}
	return p
}
