package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/awsclient"
)

// VerifyEnabled reads AWS back until it shows trusted access on, the
// service-linked role present and every listed trail logging. AWS is
// eventually consistent, so it polls with backoff, heartbeating what it last
// saw, until the activity's deadline; then it fails (retryably) saying what
// AWS still does not show.
func (a *Activities) VerifyEnabled(ctx context.Context, in VerifyInput) (Evidence, error) {
	return a.poll(ctx, in, func(e Evidence) []string {
		var missing []string
		if !e.TrustedAccess {
			missing = append(missing, "trusted access for "+ServicePrincipal+" is not listed")
		}
		if !e.ServiceLinkedRole {
			missing = append(missing, "role "+ServiceLinkedRoleName+" does not exist")
		}
		for _, t := range e.Trails {
			if !t.IsLogging {
				missing = append(missing, "trail "+t.ARN+" is not logging")
			}
		}
		return missing
	})
}

// VerifyDisabled reads AWS back until trusted access is no longer listed, and
// records, as AWS documents, that organization trails and the service-linked
// role remain.
func (a *Activities) VerifyDisabled(ctx context.Context, in VerifyInput) (Evidence, error) {
	e, err := a.poll(ctx, in, func(e Evidence) []string {
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

// poll reads evidence until short returns nothing or the context ends.
func (a *Activities) poll(ctx context.Context, in VerifyInput, short func(Evidence) []string) (Evidence, error) {
	c, err := a.forOrg(ctx, in.OrgInput)
	if err != nil {
		return Evidence{}, err
	}
	wait := a.polling.First
	var missing []string
	for checks := 1; ; checks++ {
		e, err := readEvidence(ctx, c, in.TrailARNs)
		if err != nil {
			if ae := awsError("verify organization "+orgLabel(in.OrgInput), err); !temporal.IsApplicationError(ae) || isNonRetryable(ae) {
				return Evidence{}, ae
			}
			missing = []string{err.Error()}
		} else {
			e.Checks = checks
			if missing = short(e); len(missing) == 0 {
				return e, nil
			}
		}
		activity.RecordHeartbeat(ctx, map[string]any{"checks": checks, "missing": missing})
		select {
		case <-ctx.Done():
			return Evidence{}, temporal.NewApplicationError(fmt.Sprintf(
				"verify organization %s: after %d reads AWS still shows: %s", orgLabel(in.OrgInput), checks, strings.Join(missing, "; ")),
				ErrNotYetVisible)
		case <-time.After(wait):
		}
		wait = min(2*wait, a.polling.Max)
	}
}

// readEvidence reads trusted access, the role and the listed trails once.
func readEvidence(ctx context.Context, c *awsclient.Clients, trailARNs []string) (Evidence, error) {
	var e Evidence
	var err error
	e.At = time.Now().UTC()
	if e.TrustedAccess, e.DateEnabled, err = trustedAccess(ctx, c); err != nil {
		return e, err
	}
	if e.ServiceLinkedRole, err = roleExists(ctx, c); err != nil {
		return e, err
	}
	for _, arn := range trailARNs {
		t, err := readTrail(ctx, c, arn)
		if err != nil {
			return e, err
		}
		if t == nil {
			t = &TrailState{ARN: arn}
		}
		e.Trails = append(e.Trails, *t)
	}
	return e, nil
}
