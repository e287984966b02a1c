package awsclient

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailgate/trailgate/config"
)

// clock is a Factory's time, moved by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func testFactory() (*Factory, *clock) {
	f := NewFactoryFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")}, nil)
	c := &clock{t: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	f.now = c.now
	return f, c
}

func forOrg(t *testing.T, f *Factory, org string, session string) *Clients {
	t.Helper()
	c, err := f.ForOrganization(context.Background(), config.Organization{Name: org, RoleARN: "arn:aws:iam::123456789012:role/" + org}, Session{ChangeID: session})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Clients are kept while in use and dropped once idle: a worker that runs
// change after change over many organizations does not keep every
// change's clients.
func TestClientsIdleForLongAreDropped(t *testing.T) {
	f, clock := testFactory()
	first := forOrg(t, f, "acme-prod", "change-1")
	forOrg(t, f, "globex", "change-1")
	clock.t = clock.t.Add(ClientsIdle - time.Second)
	if forOrg(t, f, "acme-prod", "change-1") != first {
		t.Fatal("clients in use were built again")
	}
	clock.t = clock.t.Add(ClientsIdle - time.Second)
	forOrg(t, f, "acme-prod", "change-2")
	if _, ok := f.clients[keyOf("globex", "change-1")]; ok {
		t.Errorf("globex's clients of change-1, idle for %s, are still kept", 2*ClientsIdle-2*time.Second)
	}
	if _, ok := f.clients[keyOf("acme-prod", "change-1")]; !ok {
		t.Errorf("acme-prod's clients of change-1, used %s ago, were dropped", ClientsIdle-time.Second)
	}
}

// However busy, a Factory keeps at most MaxClients sets, dropping the
// least recently used.
func TestAtMostMaxClientsAreKept(t *testing.T) {
	f, clock := testFactory()
	for i := range MaxClients + 10 {
		clock.t = clock.t.Add(time.Millisecond)
		forOrg(t, f, fmt.Sprintf("org-%05d", i), "change-1")
	}
	if n := len(f.clients); n > MaxClients {
		t.Fatalf("%d sets of clients kept, want at most %d", n, MaxClients)
	}
	if _, ok := f.clients[keyOf(fmt.Sprintf("org-%05d", MaxClients+9), "change-1")]; !ok {
		t.Error("the newest clients were dropped")
	}
	if _, ok := f.clients[keyOf("org-00000", "change-1")]; ok {
		t.Error("the oldest clients are still kept")
	}
}

func keyOf(org, changeID string) string {
	s := Session{ChangeID: changeID}
	return cacheKey(config.Organization{Name: org, RoleARN: "arn:aws:iam::123456789012:role/" + org}, s.Name(), s.Identity())
}
