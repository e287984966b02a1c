package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/workflows"
)

// ARNs of the people of the samples, as STS would verify them.
const (
	daveARN  = "arn:aws:iam::999999999999:user/dave"
	aliceARN = "arn:aws:iam::999999999999:user/alice"
	carolARN = "arn:aws:iam::999999999999:user/carol"
)

func sampleProgress() workflows.ChangeProgress {
	at := time.Date(2026, 3, 7, 2, 30, 0, 0, time.UTC)
	dave := workflows.Who{By: "dave", ARN: daveARN}
	return workflows.ChangeProgress{
		ChangeID: "disable-1", Action: workflows.ActionDisable, Requester: "dave", RequestedBy: dave, Reason: "CHG-7 | retire",
		Policy: &workflows.GatePolicy{RequiredApprovals: 2, Approvers: []string{"alice", "bob"}, CloudTrailAdmins: []string{"carol"}, Timeout: 72 * time.Hour},
		Phase:  workflows.PhaseSucceeded, CurrentWave: 1,
		Waves: []workflows.WaveProgress{{Number: 1, Organizations: []string{"acme-prod"}, NeedsApproval: true,
			Approvals: []workflows.Decision{{Who: workflows.Who{By: "alice", ARN: aliceARN}, Comment: "ok"}, {Who: workflows.Who{By: "bob", Claimed: true}}}, Phase: workflows.PhaseSucceeded}},
		Targets: []workflows.TargetSummary{{
			Organization: "acme-prod", WorkflowID: "disable-1/acme-prod", Wave: 1, Phase: workflows.PhaseSucceeded,
			Plan: &workflows.Plan{Steps: []workflows.PlanStep{{Kind: "disable-trusted-access", Description: "disable trusted access"}},
				Current: workflows.State{OrganizationID: "o-abc", ManagementAccountID: "111111111111", TrustedAccess: true, ServiceLinkedRole: true}},
			Inventory: &workflows.Inventory{OrganizationTrails: []workflows.TrailState{{ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/org", HomeRegion: "us-east-1", IsOrganizationTrail: true, IsLogging: true}}},
			Evidence:  &workflows.Evidence{At: at.Add(time.Minute), Checks: 2, Notes: []string{"organization trails and AWSServiceRoleForCloudTrail remain"}},
		}},
		Record: []workflows.RecordEntry{
			{At: at, Kind: "requested", People: []string{"dave"}, Identities: []workflows.Who{dave}, Detail: "dave requested disable"},
			{At: at.Add(time.Second), Kind: "refused", People: []string{"dave"}, Identities: []workflows.Who{dave}, Detail: "approve refused: dave requested this change and cannot approve it"},
			{At: at.Add(time.Second), Organization: "acme-prod", Kind: "cleanup-confirmed", People: []string{"carol"}, Identities: []workflows.Who{{By: "carol", ARN: carolARN}}, Detail: "cleanup done | acknowledged"},
			{At: at.Add(2 * time.Second), Kind: "approved", People: []string{"bob"}, Identities: []workflows.Who{{By: "bob", Claimed: true}}, Detail: "wave 1: approval 2 of 2"},
		},
	}
}

func TestMarkdownRecord(t *testing.T) {
	var b strings.Builder
	p := sampleProgress()
	rec := ChangeRecord{
		Change:      p,
		Targets:     []workflows.TargetProgress{{Organization: "acme-prod", Record: []workflows.RecordEntry{{At: p.Record[0].At.Add(500 * time.Millisecond), Organization: "acme-prod", Kind: "mutation", Detail: "disabled trusted access"}}}},
		TemporalURL: "http://127.0.0.1:8233/namespaces/default/workflows/disable-1",
		ExportedAt:  time.Date(2026, 3, 7, 3, 0, 0, 0, time.UTC),
	}
	rec.Entries = mergeEntries(p.Record, rec.Targets)
	if err := writeMarkdown(&b, rec); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# Change disable-1: disable CloudTrail trusted access",
		"| Requested by | dave (" + daveARN + ") |",
		"| Policy in force | 2 approval(s) from alice, bob; CloudTrail administrators: carol; claims not accepted (every decision is proven); gates expire after 72h |",
		`| Reason | CHG-7 \| retire |`,
		"| Outcome | **succeeded**, verified |",
		"[disable-1](http://127.0.0.1:8233/namespaces/default/workflows/disable-1)",
		"## Waves",
		"| 1 | acme-prod | required | alice (" + aliceARN + "): ok; bob (claimed, not verified) | succeeded |",
		"### acme-prod",
		"1. `disable-trusted-access`: disable trusted access",
		"organization trail `arn:aws:cloudtrail:us-east-1:111111111111:trail/org` (home us-east-1, logging true)\n  - disabling stops these trails for member accounts",
		"after 2 check(s)",
		"organization trails and AWSServiceRoleForCloudTrail remain",
		"| 2026-03-07 02:30:00 | - | requested | dave (" + daveARN + ") | dave requested disable |\n| 2026-03-07 02:30:00 | acme-prod | mutation | - | disabled trusted access |\n",
		"| 2026-03-07 02:30:01 | - | refused | dave (" + daveARN + ") | approve refused: dave requested this change and cannot approve it |",
		`| 2026-03-07 02:30:01 | acme-prod | cleanup-confirmed | carol (` + carolARN + `) | cleanup done \| acknowledged |`,
		"| 2026-03-07 02:30:02 | - | approved | bob (claimed, not verified) | wave 1: approval 2 of 2 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown record lacks %q:\n%s", want, md)
		}
	}
}

func TestStatusShowsPolicyAndProvenPeople(t *testing.T) {
	p := sampleProgress()
	p.Phase, p.CurrentWave = workflows.PhaseAwaitingApproval, 1
	p.Waves[0].Phase = workflows.PhaseAwaitingApproval
	p.Policy.AllowClaims = true
	p.Awaiting = &workflows.Awaiting{What: "2 approval(s) of wave 1", Who: []string{"alice", "bob"}, Since: time.Unix(10, 0)}
	var b strings.Builder
	writeStatus(&b, p, changeExecution{}, "", false)
	out := b.String()
	for _, want := range []string{
		"requested by dave (" + daveARN + ")",
		"Policy:   2 approval(s) from alice, bob; CloudTrail administrators: carol; claims accepted (--as without proof, marked claimed, not verified)",
		"alice, bob (claimed)",
		"approved so far by alice, bob (claimed)",
	} {
		if !strings.Contains(out+statusLine(p), want) {
			t.Errorf("status lacks %q:\n%s\n%s", want, out, statusLine(p))
		}
	}
	// Before the worker has proven the requester, the name is all there is.
	p.RequestedBy = workflows.Who{}
	if got := requestedBy(p); got != "dave" {
		t.Errorf("requester before proof: %q", got)
	}
	if got := policyText(workflows.GatePolicy{RequiredApprovals: 1}); !strings.Contains(got, "1 approval(s) from any proven person but the requester; CloudTrail administrators: -") {
		t.Errorf("an open policy: %q", got)
	}
}

func TestLastDecider(t *testing.T) {
	p := sampleProgress()
	if who, ok := lastDecider(p); !ok || who != (workflows.Who{By: "bob", Claimed: true}) {
		t.Errorf("last decider %+v %v, want bob as claimed", who, ok)
	}
	if got := provenAs(workflows.ChangeProgress{}, workflows.Who{By: "alice"}); got != "alice" {
		t.Errorf("without a record, the name sent: %q", got)
	}
	p.Record = append(p.Record, workflows.RecordEntry{Kind: "wave", Detail: "wave 2 starts"})
	if who, _ := lastDecider(p); who.By != "bob" {
		t.Errorf("an entry without people is no decision: %+v", who)
	}
}

func TestGateKey(t *testing.T) {
	p := sampleProgress()
	if gateKey(p) != "" {
		t.Errorf("an ended change waits at no gate")
	}
	p.Phase = workflows.PhaseAwaitingApproval
	p.Awaiting = &workflows.Awaiting{What: "2 approval(s) of wave 1", Who: []string{"alice", "bob"}, Since: time.Unix(10, 0)}
	k := gateKey(p)
	p.Awaiting.What = "other words"
	if k == "" || gateKey(p) != k {
		t.Errorf("the gate key must name the gate, not its wording")
	}
	p.Phase = workflows.PhaseAwaitingWindow
	if waitsForPeople(p) {
		t.Errorf("a maintenance window does not wait for people")
	}
}

func TestShortError(t *testing.T) {
	long := "activity error (type: ReadState, scheduledEventID: 16, startedEventID: 17, identity: 1@vm@): read the policy of bucket b: AccessDenied: Access Denied (to fix: check the role's trust policy) (type: AccessDenied, retryable: false): operation error S3: GetBucketPolicy, https response error StatusCode: 403"
	if got, want := shortError(long), "read the policy of bucket b: AccessDenied: Access Denied (to fix: check the role's trust policy)"; got != want {
		t.Errorf("shortError:\n got %q\nwant %q", got, want)
	}
	if got, want := shortError("failed: "+long), "failed: read the policy of bucket b: AccessDenied: Access Denied (to fix: check the role's trust policy)"; got != want {
		t.Errorf("shortError:\n got %q\nwant %q", got, want)
	}
	if got := shortError("failed: nothing wrapped"); got != "failed: nothing wrapped" {
		t.Errorf("shortError changed a plain message: %q", got)
	}
}

func TestFit(t *testing.T) {
	if got := fit("[██] applying", 8); got != "[██] a…" || len([]rune(got)) != 7 {
		t.Errorf("fit: %q", got)
	}
	if got := fit("short", 80); got != "short" {
		t.Errorf("fit changed a short line: %q", got)
	}
	if got := fit("no limit", 0); got != "no limit" {
		t.Errorf("fit with no width: %q", got)
	}
}

func TestWhoamiOutput(t *testing.T) {
	id := workflows.Identity{
		Who:    workflows.Who{By: "alice", ARN: aliceARN},
		Roles:  []string{workflows.RoleRequester, workflows.RoleApprover},
		Policy: workflows.GatePolicy{RequiredApprovals: 2, Approvers: []string{"alice", "bob"}, CloudTrailAdmins: []string{"carol"}},
	}
	var b strings.Builder
	writeIdentity(&b, id)
	for _, want := range []string{"Principal: " + aliceARN + " (verified by STS)", "Person:    alice", "Roles:     requester, approver", "Policy:    2 approval(s) from alice, bob"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("whoami lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	writeIdentity(&b, workflows.Identity{Who: workflows.Who{By: "dave", Claimed: true}, Roles: []string{workflows.RoleRequester}})
	if !strings.Contains(b.String(), "dave is claimed, not verified") {
		t.Errorf("whoami of a claim:\n%s", b.String())
	}
}
