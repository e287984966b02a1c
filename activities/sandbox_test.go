package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// The activities under test run against the AWS sandbox, through the real
// AWS SDK clients and the same factory the worker uses.

// asConfigured is a sandbox organization as a worker's configuration names
// it: reached through its role, with its external ID.
func asConfigured(o awssandbox.DevOrganization) config.Organization {
	return config.Organization{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID}
}

// worker is the activities of a worker with the authority given, against
// the sandbox; verification polls quickly.
func worker(env *sandboxtest.Env, auth activities.Authority) *activities.Activities {
	return activities.NewWithFactory(awsclient.NewFactoryFromConfig(env.OperatorConfig(), nil), auth,
		activities.Polling{First: 10 * time.Millisecond, Max: 50 * time.Millisecond})
}

// reader is the activities of a worker whose configuration names one
// organization, reached through the role given, against the sandbox.
func reader(env *sandboxtest.Env, org config.Organization) (*activities.Activities, activities.OrgInput) {
	acts := worker(env, activities.Authority{Organizations: []config.Organization{org}})
	return acts, activities.OrgInput{Organization: org.Name, ManagementAccountID: org.ManagementAccountID}
}

// managing is the activities of a worker that manages trail (bucket and
// name) in the first sandbox organization and looks for event data stores
// in regions, with the input of a change acting for it.
func managing(env *sandboxtest.Env, trail activities.TrailSettings, regions ...string) (*activities.Activities, activities.TrailInput) {
	o := env.Orgs[0]
	acts := worker(env, activities.Authority{Organizations: []config.Organization{asConfigured(o)}, Regions: regions})
	in := activities.OrgInput{Organization: o.Name, ManagementAccountID: o.ManagementAccountID, Trail: trail}
	return acts, activities.TrailInput{OrgInput: in, OrganizationID: o.OrganizationID}
}

// inSandbox starts the sandbox with opts, and returns it with the
// activities of a worker that knows its first organization and the input
// of a change acting there, which manages no trail until the test sets
// in.Trail.
func inSandbox(t *testing.T, opts awssandbox.Options) (*sandboxtest.Env, *activities.Activities, activities.TrailInput) {
	t.Helper()
	env := sandboxtest.Start(t, opts)
	acts, in := managing(env, activities.TrailSettings{})
	return env, acts, in
}

// trustedAccessOn enables trusted access and creates the service-linked
// role, as an enable does before it touches the trail.
func trustedAccessOn(t *testing.T, acts *activities.Activities, in activities.OrgInput) {
	t.Helper()
	if _, err := acts.EnableTrustedAccess(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if _, err := acts.EnsureServiceLinkedRole(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// refusedAs checks that err is a non-retryable application error of the
// type, saying each of says.
func refusedAs(t *testing.T, err error, typ string, says ...string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != typ || !appErr.NonRetryable() {
		t.Fatalf("error %v; want a non-retryable %s", err, typ)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}
