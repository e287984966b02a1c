package awssandbox_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

func TestStatePersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	s1, err := awssandbox.New(awssandbox.Options{StateFile: file, Seed: 18})
	if err != nil {
		t.Fatal(err)
	}
	org, err := s1.CreateOrganization(awssandbox.OrganizationSpec{Name: "persisted", Members: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv1 := httptest.NewServer(s1)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv1.URL), Credentials: staticCreds(org.Management)}
	must[*organizations.EnableAWSServiceAccessOutput](t)(organizations.NewFromConfig(cfg).EnableAWSServiceAccess(ctx(), &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(ctPrincipal)}))
	srv1.Close()

	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("state directory holds %v, want only the state file", entries)
	}

	s2, err := awssandbox.New(awssandbox.Options{StateFile: file, Seed: 18})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(s2)
	defer srv2.Close()
	cfg.BaseEndpoint = aws.String(srv2.URL)
	out := must[*organizations.ListAWSServiceAccessForOrganizationOutput](t)(organizations.NewFromConfig(cfg).ListAWSServiceAccessForOrganization(ctx(), &organizations.ListAWSServiceAccessForOrganizationInput{}))
	if len(out.EnabledServicePrincipals) != 1 || *out.EnabledServicePrincipals[0].ServicePrincipal != ctPrincipal {
		t.Fatalf("after restart: %+v", out.EnabledServicePrincipals)
	}
	if !reflect.DeepEqual(s1.Organizations(), s2.Organizations()) {
		t.Fatalf("organizations changed across restart:\n%+v\n%+v", s1.Organizations(), s2.Organizations())
	}
	// New identifiers continue the sequence rather than repeat it.
	a, err := s2.CreateAccount("later")
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range s1.Accounts() {
		if old.ID == a.ID || old.AccessKeyID == a.AccessKeyID {
			t.Fatalf("account %s reuses %s's identifiers", a.Name, old.Name)
		}
	}
}

func TestSeedingIsDeterministic(t *testing.T) {
	a := sandboxtest.Start(t, awssandbox.Options{Seed: 99})
	b := sandboxtest.Start(t, awssandbox.Options{Seed: 99})
	if !reflect.DeepEqual(a.Orgs, b.Orgs) || a.Operator != b.Operator {
		t.Fatalf("same seed, different layouts:\n%+v\n%+v", a.Orgs, b.Orgs)
	}
	if len(a.Orgs) != 3 || a.Orgs[0].Name != "acme-prod" || a.Orgs[1].Name != "acme-staging" || a.Orgs[2].Name != "globex" {
		t.Fatalf("layout %+v", a.Orgs)
	}
	for _, o := range a.Orgs {
		if len(o.MemberAccountIDs) != 2 || o.RoleARN != "arn:aws:iam::"+o.ManagementAccountID+":role/TrailgateOperator" || o.ExternalID == "" {
			t.Fatalf("organization %+v", o)
		}
	}
}

func TestStartDev(t *testing.T) {
	dir := t.TempDir()
	env, err := awssandbox.StartDev(context.Background(), dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Profiles) != 3*3+1 || env.OperatorProfile != "trailgate-operator" {
		t.Fatalf("profiles %v", env.Profiles)
	}
	for _, o := range env.Organizations {
		if list := listViaProfile(t, env, o.Name+"-management"); list != nil {
			t.Fatalf("trusted access enabled in a fresh dev default: %v", list)
		}
	}
	// The operator profile is the operator account, outside the
	// organizations.
	if arn := profileARN(t, env, env.OperatorProfile); !strings.HasSuffix(arn, ":user/trailgate-operator") {
		t.Fatalf("operator profile is %s", arn)
	}
	wantPeople(t, env)

	// A second dev default on the same port fails and names the port.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(env.Endpoint, "http://"))
	_, err = awssandbox.StartDev(context.Background(), t.TempDir(), "127.0.0.1:"+port)
	if err == nil || !strings.Contains(err.Error(), port) {
		t.Fatalf("busy port: %v", err)
	}
	if err := env.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A restart reloads the saved state instead of seeding again.
	again := restartDev(t, dir, env)
	if !reflect.DeepEqual(again.People, env.People) || again.PeopleAccountID != env.PeopleAccountID {
		t.Fatalf("restart changed the people:\n%+v\n%+v", env.People, again.People)
	}
}

// A state saved before the dev default had people gains them on start,
// and keeps its organizations.
func TestDevStateWithoutPeopleGainsThem(t *testing.T) {
	dir := t.TempDir()
	env, err := awssandbox.StartDev(context.Background(), dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Make the state what an older dev default saved: no people account,
	// no people in the layout.
	file := filepath.Join(dir, awssandbox.DevStateFile)
	unmarshal := func(data []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	var fields, accounts, keys, dev map[string]json.RawMessage
	unmarshal(must[[]byte](t)(os.ReadFile(file)), &fields)
	unmarshal(fields["accounts"], &accounts)
	unmarshal(fields["keys"], &keys)
	unmarshal(fields["dev"], &dev)
	if _, ok := dev["people"]; !ok {
		t.Fatalf("the saved layout has no people: %s", fields["dev"])
	}
	delete(dev, "people")
	delete(dev, "peopleAccountId")
	delete(accounts, env.PeopleAccountID)
	for id, k := range keys {
		var key struct {
			AccountID string `json:"accountId"`
		}
		unmarshal(k, &key)
		if key.AccountID == env.PeopleAccountID {
			delete(keys, id)
		}
	}
	for name, v := range map[string]any{"accounts": accounts, "keys": keys, "dev": dev} {
		fields[name] = must[[]byte](t)(json.Marshal(v))
	}
	if err := os.WriteFile(file, must[[]byte](t)(json.Marshal(fields)), 0o600); err != nil {
		t.Fatal(err)
	}

	wantPeople(t, restartDev(t, dir, env))
}

// restartDev starts the dev default again on the state in dir, and checks
// that it kept env's organizations.
func restartDev(t *testing.T, dir string, env *awssandbox.DevEnvironment) *awssandbox.DevEnvironment {
	t.Helper()
	again, err := awssandbox.StartDev(context.Background(), dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close(context.Background()) })
	if !reflect.DeepEqual(again.Organizations, env.Organizations) {
		t.Fatalf("restart changed the organizations:\n%+v\n%+v", env.Organizations, again.Organizations)
	}
	return again
}

// wantPeople checks that env has the dev default's people, each with a
// profile of their name that signs as them.
func wantPeople(t *testing.T, env *awssandbox.DevEnvironment) {
	t.Helper()
	if len(env.People) != len(awssandbox.DevPeopleNames) {
		t.Fatalf("people %+v, want %v", env.People, awssandbox.DevPeopleNames)
	}
	for i, name := range awssandbox.DevPeopleNames {
		p := env.People[i]
		want := "arn:aws:iam::" + env.PeopleAccountID + ":user/" + name
		if p.Name != name || p.Profile != name || p.ARN != want {
			t.Fatalf("person %+v, want %s with ARN %s", p, name, want)
		}
		if arn := profileARN(t, env, p.Profile); arn != want {
			t.Fatalf("profile %s signs as %s, want %s", p.Profile, arn, want)
		}
	}
}

// profileConfig is the AWS configuration of one of env's profiles, read
// from its shared files.
func profileConfig(t *testing.T, env *awssandbox.DevEnvironment, profile string) aws.Config {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(ctx(),
		awsconfig.WithSharedConfigFiles([]string{env.ConfigFile}),
		awsconfig.WithSharedCredentialsFiles([]string{env.CredentialsFile}),
		awsconfig.WithSharedConfigProfile(profile))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// profileARN is who STS says a profile signs as.
func profileARN(t *testing.T, env *awssandbox.DevEnvironment, profile string) string {
	t.Helper()
	id := must[*sts.GetCallerIdentityOutput](t)(sts.NewFromConfig(profileConfig(t, env, profile)).GetCallerIdentity(ctx(), &sts.GetCallerIdentityInput{}))
	return *id.Arn
}

func listViaProfile(t *testing.T, env *awssandbox.DevEnvironment, profile string) []string {
	t.Helper()
	cfg := profileConfig(t, env, profile)
	out := must[*organizations.ListAWSServiceAccessForOrganizationOutput](t)(organizations.NewFromConfig(cfg).ListAWSServiceAccessForOrganization(ctx(), &organizations.ListAWSServiceAccessForOrganizationInput{}))
	var names []string
	for _, p := range out.EnabledServicePrincipals {
		names = append(names, *p.ServicePrincipal)
	}
	return names
}

// Two sandboxes with the same seed agree on accounts and long-term keys but
// never hand out the same session credentials: a client that cached a
// session key from one must not act as another identity in the other.
func TestSessionCredentialsAreNeverReused(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for range 2 {
		env := sandboxtest.Start(t, awssandbox.Options{Seed: 1})
		o := env.Orgs[0]
		out, err := sts.NewFromConfig(env.OperatorConfig()).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(o.RoleARN), RoleSessionName: aws.String("trailgate-test"), ExternalId: aws.String(o.ExternalID),
		})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.Credentials.AccessKeyId)
		if seen[id] {
			t.Fatalf("session key %s issued twice", id)
		}
		seen[id] = true
	}
}
