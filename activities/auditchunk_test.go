package activities_test

import (
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
)

// A chunk reads each organization in its place; one whose role cannot be
// assumed says why in its reading, is an unreadable finding of its own,
// and leaves the others read. The chunk says how many it has read.
func TestAnAuditChunkReadsEachOrganizationAndAnUnreadableOneIsAFinding(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{})
	var orgs []config.Organization
	for _, o := range env.Orgs {
		orgs = append(orgs, asConfigured(o))
	}
	// globex's configuration holds an external ID its role does not trust.
	orgs[2].ExternalID = "not-" + orgs[2].ExternalID
	acts := worker(env, activities.Authority{Organizations: orgs})

	var s testsuite.WorkflowTestSuite
	aenv := s.NewTestActivityEnvironment()
	aenv.RegisterActivity(acts)
	var mu sync.Mutex
	var beats []int64
	aenv.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var done int64
		if details.Get(&done) == nil {
			mu.Lock()
			beats = append(beats, done)
			mu.Unlock()
		}
	})
	var in activities.AuditChunk
	for _, o := range orgs {
		in.Organizations = append(in.Organizations, activities.AuditChunkOrg{AuditTarget: activities.AuditTarget{Organization: o.Name, ManagementAccountID: o.ManagementAccountID, Desired: activities.DesiredEnabled}})
	}
	v, err := aenv.ExecuteActivity((&activities.Activities{}).ReadAuditChunk, in)
	if err != nil {
		t.Fatal(err)
	}
	var read []activities.OrgReading
	if err := v.Get(&read); err != nil {
		t.Fatal(err)
	}
	if len(read) != 3 {
		t.Fatalf("%d readings for 3 organizations: %+v", len(read), read)
	}
	for i, r := range read[:2] {
		if r.Organization != orgs[i].Name || r.Unreadable != "" || r.Current == nil || r.Inventory == nil || r.Verified != nil {
			t.Errorf("reading %d: %+v, want %s read, with nothing asked of what was verified", i, r, orgs[i].Name)
		}
		// The sandbox starts with trusted access off.
		if got := kinds(r.Audit(activities.DesiredEnabled, "configuration").Findings); len(got) == 0 || got[0] != activities.FindingTrustedAccess {
			t.Errorf("%s held to enabled: findings %v, want trusted access first", r.Organization, got)
		}
	}
	globex := read[2]
	if globex.Organization != "globex" || globex.Unreadable == "" || globex.Current != nil {
		t.Fatalf("globex, whose role cannot be assumed: %+v", globex)
	}
	audit := globex.Audit(activities.DesiredEnabled, "configuration")
	if len(audit.Findings) != 1 || audit.Findings[0].Kind != activities.FindingUnreadable || audit.Findings[0].Actual != globex.Unreadable {
		t.Errorf("globex audited as %+v, want one unreadable finding saying %q", audit.Findings, globex.Unreadable)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(beats) == 0 || beats[len(beats)-1] != 3 {
		t.Errorf("the chunk's heartbeats said %v, want 3 read last", beats)
	}
}

// A chunk asked what trailgate last verified, by a worker that cannot ask
// Temporal, or given an organization the worker does not know, fails as a
// whole: that is for the worker's configuration to fix, not a finding.
func TestAnAuditChunkFailsOnWhatOnlyTheWorkerCanFix(t *testing.T) {
	env := sandboxtest.Start(t, awssandbox.Options{})
	o := asConfigured(env.Orgs[0])
	acts := worker(env, activities.Authority{Organizations: []config.Organization{o}})
	var s testsuite.WorkflowTestSuite
	aenv := s.NewTestActivityEnvironment()
	aenv.RegisterActivity(acts)
	target := activities.AuditTarget{Organization: o.Name, ManagementAccountID: o.ManagementAccountID}
	_, err := aenv.ExecuteActivity((&activities.Activities{}).ReadAuditChunk, activities.AuditChunk{Organizations: []activities.AuditChunkOrg{
		{AuditTarget: target, Verified: &activities.VerifiedQuery{Query: "WorkflowType = 'x'"}}}})
	refusedAs(t, err, "NoTemporalClient", "no Temporal client to read what trailgate last verified")
	_, err = aenv.ExecuteActivity((&activities.Activities{}).ReadAuditChunk, activities.AuditChunk{Organizations: []activities.AuditChunkOrg{
		{AuditTarget: target}, {AuditTarget: activities.AuditTarget{Organization: "initech"}}}})
	refusedAs(t, err, activities.ErrUnknownOrganization, "initech")
}
