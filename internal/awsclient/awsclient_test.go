package awsclient_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

func TestSessionNameAndSourceIdentityKeepToAWSsAlphabetAndLimit(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, c := range []struct {
		session        awsclient.Session
		name, identity string
	}{
		{awsclient.Session{}, "trailgate", ""},
		{awsclient.Session{ChangeID: "chg-20261125-7f3a"}, "tg-chg-20261125-7f3a", ""},
		{awsclient.Session{ChangeID: "enable prod/2026 #7", SourceIdentity: "dave"}, "tg-enable-prod-2026--7", "dave"},
		{awsclient.Session{ChangeID: long, SourceIdentity: long}, "tg-" + long[:61], long[:64]},
		{awsclient.Session{ChangeID: "ünï", SourceIdentity: "Dave O'Brien <dave@example.com>"}, "tg--n-", "Dave-O-Brien--dave@example.com-"},
		{awsclient.Session{SourceIdentity: "aws:dave"}, "trailgate", "aws-dave"},
		{awsclient.Session{SourceIdentity: "d"}, "trailgate", "d-"},
	} {
		if got := c.session.Name(); got != c.name {
			t.Errorf("%+v: session name %q, want %q", c.session, got, c.name)
		}
		if got := c.session.Identity(); got != c.identity {
			t.Errorf("%+v: source identity %q, want %q", c.session, got, c.identity)
		}
	}
}

// assumeRoles records the AssumeRole requests that reach the sandbox.
type assumeRoles struct {
	mu    sync.Mutex
	forms []url.Values
}

func (a *assumeRoles) serve(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "AssumeRole" {
			a.mu.Lock()
			a.forms = append(a.forms, form)
			a.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (a *assumeRoles) last() url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.forms) == 0 {
		return url.Values{}
	}
	return a.forms[len(a.forms)-1]
}

// The management account's session is named after the change and carries
// the requester as its source identity; a role assumed from it (the
// member-account probe) keeps the name. Sessions of different changes do
// not share clients; the audit's, of no change, is named trailgate.
func TestSessionsAreNamedAfterTheChange(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{})
	ctx := context.Background()
	seen := &assumeRoles{}
	srv := httptest.NewServer(seen.serve(env.Sandbox))
	t.Cleanup(srv.Close)
	base := env.OperatorConfig()
	base.BaseEndpoint = aws.String(srv.URL)
	base.HTTPClient = srv.Client()
	f := awsclient.NewFactoryFromConfig(base, nil)
	o := env.Orgs[0]
	org := config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID}

	caller := func(c *awsclient.Clients) string {
		t.Helper()
		who, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(who.Arn)
	}
	change, err := f.ForOrganization(ctx, org, awsclient.Session{ChangeID: "chg 7", SourceIdentity: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	if arn := caller(change); arn != "arn:aws:sts::"+o.ManagementAccountID+":assumed-role/"+awssandbox.DevRoleName+"/tg-chg-7" {
		t.Errorf("the change's session acts as %s", arn)
	}
	if form := seen.last(); form.Get("RoleSessionName") != "tg-chg-7" || form.Get("SourceIdentity") != "dave" || form.Get("ExternalId") != o.ExternalID {
		t.Errorf("AssumeRole asked for session %q, source identity %q, external ID %q", form.Get("RoleSessionName"), form.Get("SourceIdentity"), form.Get("ExternalId"))
	}

	other, err := f.ForOrganization(ctx, org, awsclient.Session{ChangeID: "chg-8", SourceIdentity: "erin"})
	if err != nil {
		t.Fatal(err)
	}
	if other == change || !strings.HasSuffix(caller(other), "/tg-chg-8") {
		t.Errorf("another change's session acts as %s", caller(other))
	}
	again, _ := f.ForOrganization(ctx, org, awsclient.Session{ChangeID: "chg 7", SourceIdentity: "dave"})
	if again != change {
		t.Error("the same change's session is built twice")
	}
	audit, _ := f.ForOrganization(ctx, org, awsclient.Session{})
	if arn := caller(audit); !strings.HasSuffix(arn, "/trailgate") {
		t.Errorf("the audit's session acts as %s", arn)
	}
	if form := seen.last(); form.Has("SourceIdentity") {
		t.Errorf("the audit's session carries source identity %q", form.Get("SourceIdentity"))
	}

	member := o.MemberAccountIDs[0]
	// The role the shipped policy lets trailgate assume in member accounts.
	roleARN := "arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"
	if arn := caller(change.InRole(roleARN)); arn != "arn:aws:sts::"+member+":assumed-role/OrganizationAccountAccessRole/tg-chg-7" {
		t.Errorf("the probe's chained session acts as %s", arn)
	}
	if first, again := change.InRole(roleARN), change.InRole(roleARN); first != again {
		t.Error("the probe's clients are built twice")
	}
	if eu, again := change.CloudTrailIn("eu-west-1"), change.CloudTrailIn("eu-west-1"); change.CloudTrailIn(change.Region) != change.CloudTrail || eu != again ||
		eu.Options().Region != "eu-west-1" {
		t.Error("CloudTrail clients by region are not one per region")
	}
}
