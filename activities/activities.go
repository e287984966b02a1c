// Package activities holds trailgate's I/O: every AWS call and every
// notification, as Temporal activities. Each activity does one thing, reads
// before it writes, and treats "already so" as success, so that a retry after
// a partial failure converges. AWS errors become typed application errors
// here, once.
package activities

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/proof"
)

// ServicePrincipal is the one service principal trailgate touches.
const ServicePrincipal = "cloudtrail.amazonaws.com"

// ServiceLinkedRoleName is the role CloudTrail's integration with
// Organizations uses.
const ServiceLinkedRoleName = "AWSServiceRoleForCloudTrail"

// Polling bounds verification: AWS is eventually consistent, so a 200 is
// not proof, and verification reads back until AWS shows the desired state.
type Polling struct {
	// First is the wait after the first read that falls short.
	First time.Duration
	// Max caps the wait between reads.
	Max time.Duration
}

// Activities carries the clients that trailgate's activities use and the
// worker's authority; it is registered with a worker as a whole.
type Activities struct {
	clients   *awsclient.Factory
	http      *http.Client
	polling   Polling
	authority Authority
	// temporal reads workflows' progress (see signals.go).
	temporal client.Client
}

// New builds the activities for a worker from its configuration and the key
// that opens people's sealed proofs. Their AWS calls are counted through
// calls, unless it is nil.
func New(ctx context.Context, cfg config.Config, key *proof.PrivateKey, calls client.MetricsHandler) (*Activities, error) {
	f, err := awsclient.NewFactory(ctx, cfg.AWS, calls)
	if err != nil {
		return nil, fmt.Errorf("build activities: %w", err)
	}
	return NewWithFactory(f, AuthorityFromConfig(cfg, key), Polling{First: time.Second, Max: 20 * time.Second}), nil
}

// NewWithFactory builds the activities around existing AWS clients.
func NewWithFactory(f *awsclient.Factory, auth Authority, p Polling) *Activities {
	return &Activities{
		clients:   f,
		http:      &http.Client{Timeout: 15 * time.Second},
		polling:   p,
		authority: auth,
	}
}

// forOrg returns the clients of an organization's management account, as
// the worker's configuration reaches it, in a session named after the
// change the input acts for (none for the audit).
func (a *Activities) forOrg(ctx context.Context, in OrgInput) (*awsclient.Clients, error) {
	org, err := a.authority.organization(in)
	if err != nil {
		return nil, err
	}
	c, err := a.clients.ForOrganization(ctx, org, awsclient.Session{ChangeID: in.Session.ChangeID, SourceIdentity: in.Session.SourceIdentity})
	if err != nil {
		return nil, awsError(fmt.Sprintf("reach organization %s", org.Name), err)
	}
	return c, nil
}

// orgLabel names an organization in messages: name and management account.
func orgLabel(in OrgInput) string {
	if in.ManagementAccountID == "" {
		return in.Organization
	}
	return fmt.Sprintf("%s (%s)", in.Organization, in.ManagementAccountID)
}
