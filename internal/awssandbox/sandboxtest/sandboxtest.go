// Package sandboxtest serves the AWS sandbox to one test, seeded with the dev
// default's layout. It is for tests only: it imports testing, which the
// awssandbox package, part of trailgate-worker, must not.
package sandboxtest

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/trailgate/trailgate/internal/awssandbox"
)

// Env is a sandbox served by an httptest server for one test, seeded
// with the dev default's layout.
type Env struct {
	// URL is the sandbox endpoint.
	URL     string
	Sandbox *awssandbox.Sandbox
	Server  *httptest.Server
	// Orgs are the seeded organizations: acme-prod, acme-staging, globex.
	Orgs []awssandbox.DevOrganization
	// Operator is the account outside the organizations that may assume
	// each organization's RoleARN.
	Operator awssandbox.Account
	// People are the dev default's people, users of PeopleAccountID; Person
	// gives their keys.
	PeopleAccountID string
	People          []awssandbox.DevPerson

	t testing.TB
}

// Start starts a fresh sandbox (opts.Seed fixes its IDs and faults) in
// an httptest server that stops when the test ends.
func Start(t testing.TB, opts awssandbox.Options) *Env {
	t.Helper()
	s, err := awssandbox.New(opts)
	if err != nil {
		t.Fatalf("start aws sandbox: %v", err)
	}
	layout, err := s.DevDefault()
	if err != nil {
		t.Fatalf("seed aws sandbox: %v", err)
	}
	operator, err := s.Account(layout.OperatorAccountID)
	if err != nil {
		t.Fatalf("seed aws sandbox: %v", err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &Env{
		URL: srv.URL, Sandbox: s, Server: srv,
		Orgs: layout.Organizations, Operator: operator,
		PeopleAccountID: layout.PeopleAccountID, People: layout.People,
		t: t,
	}
}

// Config is an AWS SDK configuration acting as account a: its static
// credentials, the sandbox endpoint and region. S3 clients also need
// UsePathStyle = true.
func (e *Env) Config(a awssandbox.Account) aws.Config {
	return e.configWith(a.AccessKeyID, a.SecretAccessKey)
}

// UserConfig is Config acting as user u.
func (e *Env) UserConfig(u awssandbox.User) aws.Config {
	return e.configWith(u.AccessKeyID, u.SecretAccessKey)
}

func (e *Env) configWith(accessKeyID, secretAccessKey string) aws.Config {
	return aws.Config{
		Region:       e.Sandbox.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		BaseEndpoint: aws.String(e.URL),
		HTTPClient:   e.Server.Client(),
	}
}

// Account returns a sandbox account by ID, failing the test when there is
// none.
func (e *Env) Account(id string) awssandbox.Account {
	e.t.Helper()
	a, err := e.Sandbox.Account(id)
	if err != nil {
		e.t.Fatalf("%v", err)
	}
	return a
}

// Person returns one of the dev default's people (see DevPeopleNames) with
// their access key, failing the test when there is none.
func (e *Env) Person(name string) awssandbox.User {
	e.t.Helper()
	u, err := e.Sandbox.User(e.PeopleAccountID, name)
	if err != nil {
		e.t.Fatalf("%v", err)
	}
	return u
}

// ConfigFor is Config for the account with the given ID.
func (e *Env) ConfigFor(accountID string) aws.Config {
	e.t.Helper()
	return e.Config(e.Account(accountID))
}

// OperatorConfig is Config for the operator account.
func (e *Env) OperatorConfig() aws.Config {
	return e.Config(e.Operator)
}
