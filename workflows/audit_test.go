package workflows

import (
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
)

func finding(org string, kind activities.FindingKind) Finding {
	return Finding{Kind: kind, Organization: org, Expected: "x", Actual: "y"}
}

// A finding seen before keeps when it was first seen and is not announced
// again; one gone is resolved, except in an organization that could not be
// read this time.
func TestReconcileAnnouncesOnlyWhatAppearedOrWasResolved(t *testing.T) {
	first := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := first.Add(6 * time.Hour)
	standing, gone, hidden := finding("prod", activities.FindingTrustedAccess), finding("prod", activities.FindingServiceLinkedRole), finding("staging", activities.FindingTrailNotLogging)
	for _, f := range []*Finding{&standing, &gone, &hidden} {
		f.Since = first
	}
	fresh := finding("prod", activities.FindingBucketPolicy)
	unreadable := finding("staging", activities.FindingUnreadable)
	orgs := []OrgAudit{
		{Organization: "prod", Findings: []Finding{finding("prod", activities.FindingTrustedAccess), fresh}},
		{Organization: "staging", Findings: []Finding{unreadable}},
	}
	current, appeared, resolved := reconcile([]Finding{standing, gone, hidden}, orgs, now)
	if len(resolved) != 1 || resolved[0].Key() != gone.Key() {
		t.Errorf("resolved %v, want only %v", resolved, gone)
	}
	if len(appeared) != 2 || appeared[0].Key() != fresh.Key() || appeared[1].Key() != unreadable.Key() || !appeared[0].Since.Equal(now) {
		t.Errorf("appeared %v, want %v and %v since %s", appeared, fresh, unreadable, now)
	}
	keys := map[string]time.Time{}
	for _, f := range current {
		keys[f.Key()] = f.Since
	}
	if since, ok := keys[standing.Key()]; !ok || !since.Equal(first) {
		t.Errorf("the standing finding is %v since %s, want since %s", ok, since, first)
	}
	if _, ok := keys[hidden.Key()]; !ok {
		t.Errorf("a finding in an organization that could not be read was dropped: %v", current)
	}
}

func TestDesiredIsWhatTheLastVerifiedTargetLeft(t *testing.T) {
	verified := func(action Action, phase Phase) activities.Verified {
		return activities.Verified{WorkflowID: "c/prod", Attributes: map[string]string{
			ActionKey.GetName(): string(action), PhaseKey.GetName(): string(phase), ChangeIDKey.GetName(): "c"}}
	}
	for _, c := range []struct {
		v    activities.Verified
		want Desired
	}{
		{activities.Verified{}, DesiredUnmanaged},
		{verified(ActionEnable, PhaseSucceeded), DesiredEnabled},
		{verified(ActionDisable, PhaseSucceeded), DesiredDisabled},
		{verified(ActionDisable, PhaseRolledBack), DesiredEnabled},
		{verified(ActionRollback, PhaseRolledBack), DesiredEnabled},
	} {
		if got, _ := desiredFromVerified(c.v); got != c.want {
			t.Errorf("after %v: desired %s, want %s", c.v.Attributes, got, c.want)
		}
	}
}
