package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/workflows"
)

// people are the dev default's people at the gates of every change, each
// proving every decision as the CLI does: an sts:GetCallerIdentity signed
// with the AWS profile of their name, bound to the decision, sealed to the
// worker's key.
type people struct {
	// requester asks for every change; approvers approve every wave;
	// admin confirms cleanup before a disable.
	requester string
	approvers []string
	admin     string

	creds    map[string]aws.CredentialsProvider
	arns     map[string]string
	key      proof.PublicKey
	endpoint string
	region   string
}

// loadPeople finds who plays which part under the worker's policy and
// loads their AWS profiles from the dev default's shared files. The
// requester is a person who neither approves nor confirms cleanup, so that
// the two-person rule never refuses the harness.
func loadPeople(ctx context.Context, cfg config.Config) (*people, error) {
	a := cfg.Approvals
	if a.Required < 1 || a.Required > len(a.Approvers) || len(a.CloudTrailAdmins) == 0 {
		return nil, fmt.Errorf("the dev default's policy needs %d approval(s) of %v and a CloudTrail administrator of %v: the harness cannot play it", a.Required, a.Approvers, a.CloudTrailAdmins)
	}
	ps := &people{
		approvers: a.Approvers[:a.Required],
		admin:     a.CloudTrailAdmins[0],
		creds:     map[string]aws.CredentialsProvider{},
		arns:      map[string]string{},
		endpoint:  cfg.STSEndpoint(),
		region:    cfg.AWS.Region,
	}
	var err error
	if ps.key, err = proof.ParsePublicKey(cfg.Identity.WorkerKey); err != nil {
		return nil, fmt.Errorf("read identity.worker_key of the dev default: %w", err)
	}
	for _, p := range cfg.People {
		if ps.requester == "" && !slices.Contains(a.Approvers, p.Name) && !slices.Contains(a.CloudTrailAdmins, p.Name) {
			ps.requester = p.Name
		}
	}
	if ps.requester == "" {
		return nil, errors.New("every person of the dev default approves or confirms cleanup: nobody is left to request changes")
	}
	for _, p := range cfg.People {
		if len(p.Principals) == 0 {
			continue
		}
		profile, err := sharedProfile(ctx, cfg.AWS, p.Name)
		if err != nil {
			return nil, fmt.Errorf("prove decisions as %s: %w", p.Name, err)
		}
		ps.creds[p.Name], ps.arns[p.Name] = profile.Credentials, p.Principals[0]
	}
	return ps, nil
}

// prove is a person's proof for one decision.
func (ps *people) prove(ctx context.Context, person string, b workflows.Binding) (workflows.Who, error) {
	creds, ok := ps.creds[person]
	if !ok {
		return workflows.Who{}, fmt.Errorf("prove a decision as %s: no AWS profile of that name", person)
	}
	req, err := proof.Sign(ctx, creds, ps.endpoint, ps.region, b.String(), time.Now())
	if err != nil {
		return workflows.Who{}, fmt.Errorf("prove %s as %s: %w", b.Decision, person, err)
	}
	sealed, err := proof.Seal(ps.key, req)
	if err != nil {
		return workflows.Who{}, fmt.Errorf("seal the proof of %s as %s: %w", b.Decision, person, err)
	}
	return workflows.Who{Proof: sealed, Nonce: b.Nonce}, nil
}

// request is the change input proven by the requester.
func (ps *people) request(ctx context.Context, in workflows.ChangeInput) (workflows.ChangeInput, error) {
	in.Requester = workflows.Who{Nonce: nonce()}
	who, err := ps.prove(ctx, ps.requester, in.Binding())
	in.Requester = who
	return in, err
}

// approval is an approver's proven approval of a wave.
func (ps *people) approval(ctx context.Context, person, changeID string, wave int) (workflows.Decision, error) {
	d := workflows.Decision{Wave: wave, Comment: "chaos", Who: workflows.Who{Nonce: nonce()}}
	who, err := ps.prove(ctx, person, d.Binding(changeID, workflows.DecisionApprove))
	d.Who = who
	return d, err
}

// cleanup is the CloudTrail administrator's proven confirmation, for every
// organization awaiting it, acknowledging that member-account logging
// stops (the organization trails of the enables remain).
func (ps *people) cleanup(ctx context.Context, changeID string) (workflows.CleanupConfirmation, error) {
	c := workflows.CleanupConfirmation{AcknowledgeMemberLoggingStops: true, AcknowledgeEventDataStores: true, AcknowledgeDelegatedAdministrators: true, Comment: "chaos", Who: workflows.Who{Nonce: nonce()}}
	who, err := ps.prove(ctx, ps.admin, c.Binding(changeID))
	c.Who = who
	return c, err
}

func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
