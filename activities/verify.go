package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// VerifyEnabled reads AWS back until it shows trusted access on, the
// service-linked role present, every listed trail an organization trail
// that logs (each read in its home region) and every listed delegated
// administrator registered. AWS is eventually consistent, so it polls with
// backoff, heartbeating what it last saw, until the activity's deadline;
// then it fails (retryably) saying what AWS still does not show.
func (a *Activities) VerifyEnabled(ctx context.Context, in VerifyInput) (Evidence, error) {
	return a.verify(ctx, in, func(e Evidence) []string {
		var missing []string
		if !e.TrustedAccess {
			missing = append(missing, "trusted access for "+ServicePrincipal+" is not listed")
		}
		if !e.ServiceLinkedRole {
			missing = append(missing, "role "+ServiceLinkedRoleName+" does not exist")
		}
		for _, t := range e.Trails {
			switch {
			case t.Name == "":
				missing = append(missing, "trail "+t.ARN+" does not exist")
			case !t.IsOrganizationTrail:
				missing = append(missing, "trail "+t.ARN+" is not an organization trail")
			case !t.IsLogging:
				missing = append(missing, "trail "+t.ARN+" is not logging")
			}
		}
		for _, id := range in.DelegatedAdministrators {
			if !slices.Contains(e.DelegatedAdministrators, id) {
				missing = append(missing, "account "+id+" is not listed as a CloudTrail delegated administrator")
			}
		}
		return missing
	})
}

// VerifyDisabled reads AWS back until trusted access is no longer listed, and
// records, as AWS documents, that organization trails and the service-linked
// role remain.
func (a *Activities) VerifyDisabled(ctx context.Context, in VerifyInput) (Evidence, error) {
	e, err := a.verify(ctx, in, func(e Evidence) []string {
		if e.TrustedAccess {
			return []string{"trusted access for " + ServicePrincipal + " is still listed"}
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	if len(e.Trails) > 0 {
		names := make([]string, 0, len(e.Trails))
		for _, t := range e.Trails {
			names = append(names, t.ARN)
		}
		e.Notes = append(e.Notes, fmt.Sprintf("organization trails remain and stop logging for member accounts: %s", strings.Join(names, ", ")))
	}
	if e.ServiceLinkedRole {
		e.Notes = append(e.Notes, "role "+ServiceLinkedRoleName+" remains, as AWS documents")
	}
	e.Notes = append(e.Notes, "re-enabling trusted access restores organization trails without reconfiguration")
	return e, nil
}

// verify reads evidence until short returns nothing or the context ends.
func (a *Activities) verify(ctx context.Context, in VerifyInput, short func(Evidence) []string) (Evidence, error) {
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return Evidence{}, err
	}
	e, checks, err := poll(ctx, a.polling, "verify organization "+orgLabel(in.OrgInput),
		func() (Evidence, error) { return readEvidence(ctx, c, in) }, short)
	e.Checks = checks
	return e, err
}

// poll reads until short says nothing is missing, and returns the last
// read and how many reads it took. AWS is eventually consistent: between
// reads it waits with backoff, heartbeating what is still missing. An
// error AWS may get over (throttling, a transient failure) counts as
// something missing; any other fails at once. When the context ends first,
// it fails (retryably) saying what AWS still does not show. doing says what
// is being done, for messages.
func poll[T any](ctx context.Context, p Polling, doing string, read func() (T, error), short func(T) []string) (T, int, error) {
	var zero T
	wait := p.First
	var missing []string
	for checks := 1; ; checks++ {
		v, err := read()
		if err != nil {
			if ae := awsError(doing, err); !temporal.IsApplicationError(ae) || isNonRetryable(ae) {
				return zero, checks, ae
			}
			if ctx.Err() == nil || len(missing) == 0 {
				// A read the deadline cut short says nothing new: what
				// AWS last showed stands.
				missing = []string{err.Error()}
			}
		} else if missing = short(v); len(missing) == 0 {
			return v, checks, nil
		}
		activity.RecordHeartbeat(ctx, map[string]any{"checks": checks, "missing": missing})
		select {
		case <-ctx.Done():
			return zero, checks, temporal.NewApplicationError(fmt.Sprintf(
				"%s: after %d reads AWS still shows: %s", doing, checks, strings.Join(missing, "; ")),
				ErrNotYetVisible)
		case <-time.After(wait):
		}
		wait = min(2*wait, p.Max)
	}
}

// readEvidence reads trusted access, the role, the listed trails (each in
// its home region) and, when some are listed, the delegated
// administrators, once.
func readEvidence(ctx context.Context, c *awsclient.Clients, in VerifyInput) (Evidence, error) {
	var e Evidence
	var err error
	e.At = time.Now().UTC()
	if e.TrustedAccess, e.DateEnabled, err = trustedAccess(ctx, c); err != nil {
		return e, err
	}
	if e.ServiceLinkedRole, err = roleExists(ctx, c); err != nil {
		return e, err
	}
	for _, arn := range in.TrailARNs {
		t, err := readTrail(ctx, c, arn)
		if err != nil {
			return e, err
		}
		if t == nil {
			t = &TrailState{ARN: arn, HomeRegion: regionOf(arn)}
		}
		e.Trails = append(e.Trails, *t)
	}
	if len(in.DelegatedAdministrators) > 0 {
		if e.DelegatedAdministrators, err = delegatedAdministrators(ctx, c); err != nil {
			return e, err
		}
	}
	return e, nil
}
