package activities

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
)

// AuditChunk asks for a part of an audit's organizations to be read at
// once: one activity, and so a few history events, for many organizations.
type AuditChunk struct {
	Organizations []AuditChunkOrg `json:"organizations"`
}

// AuditChunkOrg is one organization of an AuditChunk. Verified, set by the
// audit workflow when the configuration declares no desired state, is the
// query for what trailgate last verified there: the workflow owns that
// query and the decision it feeds.
type AuditChunkOrg struct {
	AuditTarget
	Verified *VerifiedQuery `json:"verified,omitempty"`
}

// OrgReading is one organization as an audit read it, before it is held to
// a desired state: what trailgate last verified there (when asked), the
// managed trail it was read with, and its live state and inventory, or why
// it could not be read. The audit workflow resolves the desired state and
// calls Audit.
type OrgReading struct {
	Organization string `json:"organization"`
	// Verified answers the organization's VerifiedQuery; nil when none was
	// asked.
	Verified  *Verified     `json:"verified,omitempty"`
	Trail     TrailSettings `json:"trail"`
	Current   *State        `json:"current,omitempty"`
	Inventory *Inventory    `json:"inventory,omitempty"`
	// Unreadable is why the organization could not be read; empty when it
	// was.
	Unreadable string `json:"unreadable,omitempty"`
}

// Audit is the organization as held to its desired state: how it differs
// from it, or, when it could not be read, that finding alone. It is pure:
// the audit workflow calls it, and a change to what it finds must be
// guarded there like any change to the workflow's decisions.
func (r OrgReading) Audit(desired Desired, from string) OrgAudit {
	out := OrgAudit{Organization: r.Organization, Desired: desired, DesiredFrom: from, Findings: []Finding{}}
	if r.Unreadable != "" || r.Current == nil || r.Inventory == nil {
		out.Findings = append(out.Findings, Finding{Kind: FindingUnreadable, Organization: r.Organization,
			Expected: "readable", Actual: r.Unreadable})
		return out
	}
	out.Current, out.Inventory = r.Current, r.Inventory
	out.Findings = Compare(r.Organization, desired, r.Trail, *r.Current, *r.Inventory)
	return out
}

// readAtOnce is how many organizations of a chunk are read at once: each
// reading is a handful of AWS calls as that organization's management
// account, so a few in flight keep a chunk short without a burst at AWS.
const readAtOnce = 8

// readTimeout bounds one organization's reading, as the timeout of the
// activity that read one organization did: one that takes longer is
// unreadable this time, and the rest of its chunk goes on.
const readTimeout = 5 * time.Minute

// heartbeatEvery is how often a chunk says how many organizations it has
// read, also while none finishes: a live worker keeps its chunk, a killed
// one loses it to another within the chunk's heartbeat timeout.
const heartbeatEvery = 10 * time.Second

// ReadAuditChunk reads each organization of the chunk without changing
// anything, a few at once, each reading in the place of its organization.
// An organization that cannot be read says why in its reading: the others
// go on. The chunk fails only when it cannot do what a retry would fix or
// what configuration must: ask Temporal what trailgate verified, or find
// an organization in the worker's configuration.
func (a *Activities) ReadAuditChunk(ctx context.Context, in AuditChunk) ([]OrgReading, error) {
	out := make([]OrgReading, len(in.Organizations))
	errs := make([]error, len(in.Organizations))
	var done atomic.Int64
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var wg sync.WaitGroup
		slots := make(chan struct{}, readAtOnce)
		for i, o := range in.Organizations {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				out[i], errs[i] = a.readForAudit(ctx, o)
				done.Add(1)
			}()
		}
		wg.Wait()
	}()
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-finished:
			waiting = false
		case <-tick.C:
		}
		activity.RecordHeartbeat(ctx, done.Load())
	}
	// Readings cut short by the chunk's own end are not unreadable
	// organizations: the chunk is retried.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %d organizations for the audit: %w", len(in.Organizations), err)
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readForAudit reads one organization: what trailgate last verified there
// when asked, then its live state and inventory.
func (a *Activities) readForAudit(ctx context.Context, o AuditChunkOrg) (OrgReading, error) {
	out := OrgReading{Organization: o.Organization}
	org, err := a.authority.organization(OrgInput{Organization: o.Organization})
	if err != nil {
		return out, err
	}
	if o.Verified != nil {
		// Unwrapped: the error names the query, which names the
		// organization, and a wrapping would make a non-retryable error
		// retryable.
		v, err := a.LastVerified(ctx, *o.Verified)
		if err != nil {
			return out, err
		}
		out.Verified = &v
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	ref := OrgInput{Organization: org.Name, ManagementAccountID: org.ManagementAccountID}
	if a.authority.Trail.Name != "" {
		t := a.authority.Trail.For(org)
		ref.Trail = TrailSettings{Name: t.Name, Bucket: t.Bucket}
	}
	out.Trail = ref.Trail
	st, err := a.ReadState(ctx, ref)
	var inv Inventory
	if err == nil {
		inv, err = a.TakeInventory(ctx, ref)
	}
	if err != nil {
		activity.GetLogger(ctx).Warn("audit could not read organization", "organization", org.Name, "error", err)
		out.Unreadable = err.Error()
		return out, nil
	}
	out.Current, out.Inventory = &st, &inv
	return out, nil
}
