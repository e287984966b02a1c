package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
)

// delegating starts the sandbox with opts and turns trusted access on in its
// first organization. It returns the activities of a worker that knows the
// organization, the input of a change acting there whose trail names the
// organization's first member account as delegated administrator, and that
// account.
func delegating(t *testing.T, opts awssandbox.Options) (*activities.Activities, activities.TrailInput, string) {
	t.Helper()
	env, acts, in := inSandbox(t, opts)
	delegate := env.Orgs[0].MemberAccountIDs[0]
	in.Trail.DelegatedAdministrators = []string{delegate}
	trustedAccessOn(t, acts, in.OrgInput)
	return acts, in, delegate
}

// The delegated administrators of trail.delegated_administrators are
// registered once, through CloudTrail, each call with its request ID;
// Organizations then lists them, the state and verification see them, and
// registering again makes no call.
func TestDelegatedAdministratorsAreRegisteredOnceAndVerified(t *testing.T) {
	acts, in, delegate := delegating(t, awssandbox.Options{})
	ctx := context.Background()

	_, err := inActivity(t, 2*time.Second, func(ctx context.Context) (activities.Evidence, error) {
		return acts.VerifyEnabled(ctx, activities.VerifyInput{OrgInput: in.OrgInput, DelegatedAdministrators: []string{delegate}})
	})
	if err == nil || !strings.Contains(err.Error(), "account "+delegate+" is not listed as a CloudTrail delegated administrator") {
		t.Errorf("verification before registration: %v", err)
	}

	m, err := acts.RegisterDelegatedAdministrators(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Calls) != 1 || m.Calls[0].Operation != "RegisterOrganizationDelegatedAdmin" || m.Calls[0].Service != "cloudtrail.amazonaws.com" || m.Calls[0].RequestID == "" {
		t.Errorf("registration: %+v; want one RegisterOrganizationDelegatedAdmin with its request ID", m)
	}
	if st, err := acts.ReadState(ctx, in.OrgInput); err != nil || strings.Join(st.DelegatedAdministrators, " ") != delegate {
		t.Errorf("state after registration: delegated administrators %v, %v; want %s", st.DelegatedAdministrators, err, delegate)
	}
	e, err := acts.VerifyEnabled(ctx, activities.VerifyInput{OrgInput: in.OrgInput, DelegatedAdministrators: []string{delegate}})
	if err != nil || strings.Join(e.DelegatedAdministrators, " ") != delegate {
		t.Errorf("verification after registration: %+v, %v", e, err)
	}
	m, err = acts.RegisterDelegatedAdministrators(ctx, in.OrgInput)
	if err != nil || len(m.Calls) != 0 {
		t.Errorf("registering again: %+v, %v; want no call", m, err)
	}
}

// While Organizations does not list a registration yet, registering again
// meets AccountRegisteredException: that is convergence, and the call is
// still recorded, with the request ID of the refusal.
func TestDelegatedAdministratorAlreadyRegisteredConverges(t *testing.T) {
	acts, in, _ := delegating(t, awssandbox.Options{PropagationDelay: time.Hour})
	ctx := context.Background()
	first, err := acts.RegisterDelegatedAdministrators(ctx, in.OrgInput)
	if err != nil {
		t.Fatal(err)
	}
	again, err := acts.RegisterDelegatedAdministrators(ctx, in.OrgInput)
	if err != nil {
		t.Fatalf("registering an account registered already: %v", err)
	}
	if len(first.Calls) != 1 || len(again.Calls) != 1 || again.Calls[0].RequestID == "" || again.Calls[0].RequestID == first.Calls[0].RequestID {
		t.Errorf("calls %+v then %+v; want one each, with their own request IDs", first.Calls, again.Calls)
	}
}

// An account AWS will not take as delegated administrator fails at once,
// saying what to change in trail.delegated_administrators.
func TestDelegatedAdministratorsAWSRefusesSayWhatToFix(t *testing.T) {
	env, acts, in := inSandbox(t, awssandbox.Options{})
	ctx := context.Background()
	o := env.Orgs[0]
	trustedAccessOn(t, acts, in.OrgInput)
	for _, c := range []struct {
		account, code string
		says          []string
	}{
		{o.ManagementAccountID, "CannotDelegateManagementAccountException", []string{"register account " + o.ManagementAccountID, "remove it from trail.delegated_administrators"}},
		{env.Orgs[1].MemberAccountIDs[0], "AccountNotFoundException", []string{"register account " + env.Orgs[1].MemberAccountIDs[0], "not a member of the organization: fix trail.delegated_administrators"}},
	} {
		in.Trail.DelegatedAdministrators = []string{c.account}
		_, err := acts.RegisterDelegatedAdministrators(ctx, in.OrgInput)
		refusedAs(t, err, c.code, c.says...)
	}
}
