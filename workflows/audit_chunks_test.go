package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

// An audit of 10,000 organizations reads them in a hundred activities, not
// one or two each: its history stays far below Temporal's 51,200 events.
// Every organization is in the report, in the configuration's order, held
// to its configuration's word or to what trailgate last verified, and the
// findings are those of the organizations that drifted or could not be
// read.
func TestAnAuditOfTenThousandOrganizationsReadsThemInChunks(t *testing.T) {
	const n = 10_000
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env)
	env.RegisterActivity(acts)

	name := func(i int) string { return fmt.Sprintf("org-%05d", i) }
	// Even organizations are held to enabled by their configuration; odd
	// ones to what trailgate last verified there.
	targets := make([]activities.AuditTarget, n)
	for i := range targets {
		targets[i] = activities.AuditTarget{Organization: name(i), ManagementAccountID: fmt.Sprintf("%012d", i)}
		if i%2 == 0 {
			targets[i].Desired = activities.DesiredEnabled
		}
	}
	drifted := func(i int) bool { return i%1000 == 7 }
	unreadable := func(i int) bool { return i%2500 == 11 }

	var mu sync.Mutex
	calls := map[string]int{}
	largest := 0
	var wrongQuery []string
	count := func(activity string) {
		mu.Lock()
		defer mu.Unlock()
		calls[activity]++
	}
	env.OnActivity(acts.PreviousAudit, mock.Anything, mock.Anything).Return(func(context.Context, activities.PreviousAuditQuery) (json.RawMessage, error) {
		count("PreviousAudit")
		return nil, nil
	})
	env.OnActivity(acts.AuditTargets, mock.Anything).Return(func(context.Context) ([]activities.AuditTarget, error) {
		count("AuditTargets")
		return targets, nil
	})
	env.OnActivity(acts.ReadAuditChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AuditChunk) ([]activities.OrgReading, error) {
		count("ReadAuditChunk")
		out := make([]activities.OrgReading, len(in.Organizations))
		for j, o := range in.Organizations {
			var i int
			fmt.Sscanf(o.Organization, "org-%05d", &i)
			r := activities.OrgReading{Organization: o.Organization}
			asked := o.Verified != nil
			if asked != (o.Desired == "") || (asked && !strings.Contains(o.Verified.Query, "'"+o.Organization+"'")) {
				mu.Lock()
				wrongQuery = append(wrongQuery, o.Organization)
				mu.Unlock()
			}
			if asked {
				r.Verified = &activities.Verified{WorkflowID: "enable-1/" + o.Organization, Attributes: map[string]string{
					workflows.ActionKey.GetName(): string(workflows.ActionEnable), workflows.PhaseKey.GetName(): string(workflows.PhaseSucceeded), workflows.ChangeIDKey.GetName(): "enable-1"}}
			}
			st := activities.State{ManagementAccountID: o.ManagementAccountID, TrustedAccess: !drifted(i), ServiceLinkedRole: true}
			if unreadable(i) {
				r.Unreadable = "assume the role of " + o.Organization + ": AccessDenied"
			} else {
				r.Current, r.Inventory = &st, &activities.Inventory{}
			}
			out[j] = r
		}
		mu.Lock()
		largest = max(largest, len(in.Organizations))
		mu.Unlock()
		return out, nil
	})
	var notice activities.DriftNotice
	env.OnActivity(acts.NotifyDrift, mock.Anything, mock.Anything).Return(func(_ context.Context, d activities.DriftNotice) error {
		count("NotifyDrift")
		notice = d
		return nil
	})
	env.ExecuteWorkflow(workflows.AuditWorkflowName, workflows.AuditInput{Trigger: workflows.AuditByCLI})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var r workflows.AuditReport
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}

	total := 0
	for _, c := range calls {
		total += c
	}
	if calls["ReadAuditChunk"] > n/100 || largest > 100 || total > n/100+3 {
		t.Errorf("%d activities (%v), chunks of up to %d organizations; want at most %d chunks of 100 and 3 activities more", total, calls, largest, n/100)
	}
	if len(wrongQuery) > 0 {
		t.Errorf("what trailgate last verified was asked wrongly (asked where configured, not asked where not, or of another organization) for %d organizations, first %s", len(wrongQuery), wrongQuery[0])
	}
	if len(r.Organizations) != n {
		t.Fatalf("the report has %d organizations, want %d", len(r.Organizations), n)
	}
	var want []string
	for i, o := range r.Organizations {
		if o.Organization != name(i) {
			t.Fatalf("organization %d of the report is %s, want %s", i, o.Organization, name(i))
		}
		from := "configuration"
		if i%2 == 1 {
			from = "verified by change enable-1"
		}
		if o.Desired != workflows.DesiredEnabled || o.DesiredFrom != from {
			t.Errorf("%s is held to %s (%s), want enabled (%s)", o.Organization, o.Desired, o.DesiredFrom, from)
		}
		switch {
		case unreadable(i):
			want = append(want, string(activities.FindingUnreadable)+" "+name(i))
		case drifted(i):
			want = append(want, string(activities.FindingTrustedAccess)+" "+name(i))
		default:
			if len(o.Findings) != 0 || o.Current != nil || o.Inventory != nil {
				t.Errorf("%s matches its desired state, yet the report has %+v", o.Organization, o)
			}
		}
	}
	var got, announced []string
	for _, f := range r.Findings {
		got = append(got, string(f.Kind)+" "+f.Organization)
	}
	for _, f := range notice.Appeared {
		announced = append(announced, string(f.Kind)+" "+f.Organization)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || strings.Join(announced, ",") != strings.Join(want, ",") || !r.Drift {
		t.Errorf("findings %v, announced %v (drift %v); want %v both, and drift", got, announced, r.Drift, want)
	}
}
