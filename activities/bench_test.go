package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// BenchmarkReadState reads one organization's CloudTrail integration
// through the real AWS SDK clients, over HTTP, from the sandbox, with the
// organization's role assumed once and cached.
func BenchmarkReadState(b *testing.B) {
	env := sandboxtest.Start(b, awssandbox.Options{})
	o := env.Orgs[0]
	auth := activities.Authority{Organizations: []config.Organization{{Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID}}}
	acts := activities.NewWithFactory(awsclient.NewFactoryFromConfig(env.OperatorConfig()), auth, activities.Polling{First: time.Millisecond, Max: time.Millisecond})
	in := activities.OrgInput{
		Organization: o.Name, ManagementAccountID: o.ManagementAccountID,
		Trail: activities.TrailSettings{Name: "org-trail", Bucket: "org-trail-bucket"},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := acts.ReadState(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
