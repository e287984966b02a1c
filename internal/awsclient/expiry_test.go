package awsclient_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// Assumed credentials about to expire are renewed before a call uses
// them, the organization's role and a role chained from it alike. Used to
// the end, a call signed just before they expired reached AWS just after,
// and was refused with ExpiredToken.
func TestCredentialsAboutToExpireAreRenewedBeforeACallUsesThem(t *testing.T) {
	var skew atomic.Int64 // AWS's clock, ahead of this machine's by this much
	env := sandboxtest.Start(t, awssandbox.Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	ctx := context.Background()
	f := awsclient.NewFactoryFromConfig(env.OperatorConfig(), nil)
	o := env.Orgs[0]
	org := config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID}
	c, err := f.ForOrganization(ctx, org, awsclient.Session{ChangeID: "chg-1", SourceIdentity: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	chained := c.InRole("arn:aws:iam::" + o.MemberAccountIDs[0] + ":role/OrganizationAccountAccessRole")
	call := func(c *awsclient.Clients, when string) {
		t.Helper()
		if _, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}

	// Credentials assumed now last 15 minutes on AWS's clock, which is
	// behind: they expire 90 s from now on this machine's.
	skew.Store(int64(-15*time.Minute + 90*time.Second))
	call(c, "the first call")
	call(chained, "the first chained call")
	creds, err := c.Organizations.Options().Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(creds.Expires); left > 2*time.Minute {
		t.Fatalf("the credentials expire in %s; the test needs them about to expire", left)
	}

	// AWS's clock 2 minutes on: those credentials have expired there.
	skew.Store(int64(2 * time.Minute))
	call(c, "a call with credentials about to expire")
	call(chained, "a chained call with credentials about to expire")
}
