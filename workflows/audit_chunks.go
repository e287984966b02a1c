package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// auditChunk is how many organizations one activity reads for an audit.
// An activity costs its audit some six history events, whatever it reads:
// one an organization, two without a configured desired state, took an
// audit past Temporal's 51,200 events beyond about 8,500 organizations,
// where 10,000 in chunks of 100 take 100 activities. A chunk's readings,
// about 1 KB an organization with its live state and inventory, stay far
// within the 2 MB payload limit, and a chunk retried after its worker died
// reads no more than 100 organizations again.
const auditChunk = 100

// desiredFromConfiguration says an organization's desired state is its
// configuration's word.
const desiredFromConfiguration = "configuration"

// auditInChunks reads the organizations auditChunk at a time, all chunks
// at once, and holds each to its desired state here. The split keeps one
// owner for each rule: the workflow asks what trailgate last verified only
// where the configuration is silent, writes that query (verifiedQuery),
// decides what it means (desiredFromVerified) and compares
// (activities.OrgReading.Audit, pure); the activity only reads, from AWS
// and Temporal. The organizations come back in the configuration's order.
func auditInChunks(ctx workflow.Context, a *activities.Activities, targets []activities.AuditTarget) ([]OrgAudit, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary: "Read organizations for the drift audit",
		// A chunk reads a few organizations at once, each within
		// minutes; its heartbeat, not this, notices a worker that died.
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var chunks [][]activities.AuditTarget
	for start := 0; start < len(targets); start += auditChunk {
		chunks = append(chunks, targets[start:min(start+auditChunk, len(targets))])
	}
	readings := make([]workflow.Future, len(chunks))
	for i, chunk := range chunks {
		in := activities.AuditChunk{Organizations: make([]activities.AuditChunkOrg, len(chunk))}
		for j, t := range chunk {
			in.Organizations[j].AuditTarget = t
			if t.Desired == "" {
				q := verifiedQuery(t.Organization)
				in.Organizations[j].Verified = &q
			}
		}
		readings[i] = workflow.ExecuteActivity(ctx, a.ReadAuditChunk, in)
	}
	var orgs []OrgAudit
	for i, f := range readings {
		chunk := chunks[i]
		first, last := chunk[0].Organization, chunk[len(chunk)-1].Organization
		var read []activities.OrgReading
		if err := f.Get(ctx, &read); err != nil {
			return nil, fmt.Errorf("read organizations %s to %s for the audit: %w", first, last, err)
		}
		if len(read) != len(chunk) {
			return nil, fmt.Errorf("read organizations %s to %s for the audit: %d readings for %d organizations; the worker's trailgate may differ from this workflow's, deploy one version", first, last, len(read), len(chunk))
		}
		for j, r := range read {
			desired, from := desiredOf(chunk[j], r.Verified)
			orgs = append(orgs, r.Audit(desired, from))
		}
	}
	return orgs, nil
}

// desiredOf is what an organization is held to: its configuration's word,
// else what trailgate last verified there.
func desiredOf(t activities.AuditTarget, v *activities.Verified) (Desired, string) {
	if t.Desired != "" {
		return t.Desired, desiredFromConfiguration
	}
	if v == nil {
		v = &activities.Verified{}
	}
	return desiredFromVerified(*v)
}
