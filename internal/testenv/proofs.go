package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/workflows"
)

// Nonce is a fresh nonce for a proof.
func Nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Prove makes the proof that a person of the sandbox (alice, bob, carol or
// dave) gives for a decision, as the CLI makes it: a signed
// sts:GetCallerIdentity bound to the decision, sealed to the worker's key.
func (e *Env) Prove(t testing.TB, person string, b workflows.Binding) workflows.Who {
	return e.ProveAt(t, person, b, time.Now())
}

// ProveAt is Prove with the signature made at a given time.
func (e *Env) ProveAt(t testing.TB, person string, b workflows.Binding, at time.Time) workflows.Who {
	u := e.AWS.Person(person)
	return e.prove(t, credentials.NewStaticCredentialsProvider(u.AccessKeyID, u.SecretAccessKey, ""), b, at)
}

// ProveAs is Prove with any credentials.
func (e *Env) ProveAs(t testing.TB, creds aws.CredentialsProvider, b workflows.Binding) workflows.Who {
	return e.prove(t, creds, b, time.Now())
}

func (e *Env) prove(t testing.TB, creds aws.CredentialsProvider, b workflows.Binding, at time.Time) workflows.Who {
	t.Helper()
	req, err := proof.Sign(context.Background(), creds, e.Config.STSEndpoint(), e.AWS.Sandbox.Region(), b.String(), at)
	if err != nil {
		t.Fatalf("sign a proof: %v", err)
	}
	sealed, err := proof.Seal(e.Key.Public(), req)
	if err != nil {
		t.Fatalf("seal a proof: %v", err)
	}
	return workflows.Who{Proof: sealed, Nonce: b.Nonce}
}

// Request is a change's input proven by its requester, a person of the
// sandbox.
func (e *Env) Request(t testing.TB, person string, in workflows.ChangeInput) workflows.ChangeInput {
	in.Requester = workflows.Who{Nonce: Nonce()}
	in.Requester = e.Prove(t, person, in.Binding())
	return in
}

// Stranger is the credentials of a sandbox user who is nobody's principal
// in the configuration.
func (e *Env) Stranger(t testing.TB, name string) aws.CredentialsProvider {
	t.Helper()
	u, err := e.AWS.Sandbox.CreateUser(e.AWS.PeopleAccountID, name)
	if err != nil {
		t.Fatal(err)
	}
	return credentials.NewStaticCredentialsProvider(u.AccessKeyID, u.SecretAccessKey, "")
}

// Forged is a person's access key ID with a secret that is not theirs.
func (e *Env) Forged(t testing.TB, person string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(e.AWS.Person(person).AccessKeyID, "not-the-secret-access-key-of-"+person, "")
}

// AccessKeyIDs lists the long-term access key IDs of the sandbox's people
// and accounts, which no workflow history may hold.
func (e *Env) AccessKeyIDs() []string {
	ids := []string{e.AWS.Operator.AccessKeyID}
	for _, p := range e.AWS.People {
		ids = append(ids, e.AWS.Person(p.Name).AccessKeyID)
	}
	for _, o := range e.AWS.Orgs {
		ids = append(ids, e.AWS.Account(o.ManagementAccountID).AccessKeyID)
	}
	return ids
}
