package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
)

// An error AWS gets over (here Organizations failing for longer than the
// SDK's own retries) does not fail verification: it reads again until AWS
// answers and shows trusted access on.
func TestVerificationRidesOutTransientErrors(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	trustedAccessOn(t, acts, in.OrgInput)
	env.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "ListAWSServiceAccessForOrganization", Error: "ServiceException", Count: 4}})
	e, err := inActivity(t, 30*time.Second, func(ctx context.Context) (activities.Evidence, error) {
		return acts.VerifyEnabled(ctx, activities.VerifyInput{OrgInput: in.OrgInput})
	})
	if err != nil || !e.TrustedAccess || e.Checks < 2 {
		t.Errorf("verification through transient errors: %+v, %v; want trusted access seen on a later read", e, err)
	}
}
