package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

func sources(env map[string]string, osName string, osErr error) identitySources {
	return identitySources{
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		osUser:    func() (string, error) { return osName, osErr },
	}
}

func TestActingIdentity(t *testing.T) {
	cases := []struct {
		name string
		as   string
		env  map[string]string
		os   string
		err  error
		want string
		exit int
	}{
		{name: "--as wins", as: " alice ", env: map[string]string{UserEnv: "bob"}, os: "root", want: "alice"},
		{name: "environment next", env: map[string]string{UserEnv: "bob"}, os: "root", want: "bob"},
		{name: "blank environment is skipped", env: map[string]string{UserEnv: "  "}, os: "carol", want: "carol"},
		{name: "operating-system user last", os: "dave", want: "dave"},
		{name: "nobody", err: errors.New("no passwd entry"), exit: ExitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := actingIdentity(c.as, sources(c.env, c.os, c.err))
			if ExitStatus(err) != c.exit {
				t.Fatalf("exit status %d (%v), want %d", ExitStatus(err), err, c.exit)
			}
			if got != c.want {
				t.Fatalf("identity %q, want %q", got, c.want)
			}
		})
	}
}

func testConfig() config.Config {
	c := config.Default()
	c.Organizations = []config.Organization{
		{Name: "acme-prod", ManagementAccountID: "111111111111"},
		{Name: "acme-staging", ManagementAccountID: "222222222222"},
		{Name: "globex", ManagementAccountID: "333333333333"},
	}
	c.Approvals.Required = 2
	c.Approvals.Approvers = []string{"alice", "bob"}
	c.Approvals.CloudTrailAdmins = []string{"carol"}
	return c
}

func TestChangeCommandInputValidate(t *testing.T) {
	cfg := testConfig()
	ok := ChangeCommandInput{Action: workflows.ActionEnable, All: true, Waves: []string{"1", "rest"}}
	if err := ok.validate(cfg); err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
	bad := ChangeCommandInput{
		Action:        workflows.ActionEnable,
		Organizations: []string{"acme-prod", "initech", "acme-prod"},
		All:           true,
		ChangeID:      "-bad id",
		Waves:         []string{"rest", "1"},
		Concurrency:   -1,
		FailureBudget: -1,
		Windows:       []string{"someday 25:00+1h"},
	}
	err := bad.validate(cfg)
	if ExitStatus(err) != ExitUsage {
		t.Fatalf("exit status %d, want %d: %v", ExitStatus(err), ExitUsage, err)
	}
	for _, want := range []string{"not both", "initech", "given twice", "change ID", "--waves", "--concurrency", "--failure-budget", "--window"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %q:\n%v", want, err)
		}
	}
	none := ChangeCommandInput{Action: workflows.ActionDisable}
	if err := none.validate(cfg); err == nil || !strings.Contains(err.Error(), "acme-prod, acme-staging, globex") {
		t.Errorf("no organizations: want the configured ones listed, got %v", err)
	}
}

func TestChangeInputFromCommand(t *testing.T) {
	cfg := testConfig()
	now := time.Date(2026, 3, 7, 2, 30, 0, 0, time.UTC)
	in := ChangeCommandInput{Action: workflows.ActionEnable, Organizations: []string{"globex", "acme-prod"}, Waves: parseWaves([]string{"1,rest"}), Windows: []string{"sat,sun 02:00+6h"}, Reason: " CHG-1 "}
	ci, err := in.changeInput(cfg, "dave", now)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^enable-20260307-023000-[a-z0-9]{4}$`).MatchString(ci.ChangeID) {
		t.Errorf("generated change ID %q", ci.ChangeID)
	}
	if got := []string{ci.Organizations[0].Name, ci.Organizations[1].Name}; got[0] != "globex" || got[1] != "acme-prod" {
		t.Errorf("organizations %v, want the order given", got)
	}
	if ci.Requester != "dave" || ci.Reason != "CHG-1" || len(ci.Windows) != 1 || ci.Policy.RequiredApprovals != 2 {
		t.Errorf("change input %+v", ci)
	}
	// The requester cannot be one of too few approvers.
	cfg.Approvals.Approvers = []string{"alice", "dave"}
	if _, err := in.changeInput(cfg, "dave", now); ExitStatus(err) != ExitUsage {
		t.Errorf("two approvals with one other approver: exit status %d (%v), want 2", ExitStatus(err), err)
	}
}

func TestDecisionInputs(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{DecisionCommandInput{Update: workflows.UpdateApprove}.validate(), "say which change"},
		{DecisionCommandInput{Update: workflows.UpdateApprove, ChangeID: "x", Wave: -1}.validate(), "--wave"},
		{ControlCommandInput{Update: workflows.UpdatePause, ChangeID: "x"}.validate(), "--reason"},
		{RecordCommandInput{ChangeID: "x", Format: "pdf"}.validate(), "--format"},
		{StatusCommandInput{ChangeID: "x", UntilGate: true}.validate(), "--until-gate"},
	} {
		if ExitStatus(c.err) != ExitUsage || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("want a usage error about %s, got %v", c.want, c.err)
		}
	}
	if err := (ControlCommandInput{Update: workflows.UpdateResume, ChangeID: "x"}).validate(); err != nil {
		t.Errorf("resume needs no reason: %v", err)
	}
}

func TestExitStatus(t *testing.T) {
	failed := workflows.ChangeProgress{ChangeID: "c", Phase: workflows.PhaseHalted, Failed: 1}
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"verified", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseSucceeded}), 0},
		{"nothing to do", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseNoChange}), 0},
		{"halted", outcomeError(failed), 1},
		{"rejected", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseRejected}), 1},
		{"expired", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseExpired}), 1},
		{"cancelled", outcomeError(workflows.ChangeProgress{Phase: workflows.PhaseCancelled}), 1},
		{"configuration", fmt.Errorf("load: %w", &config.ValidationError{Problems: []string{"a", "b"}}), 2},
		{"unknown change", explain(serviceerror.NewNotFound("workflow not found"), "c", "approve"), 2},
		{"exists", explain(serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", ""), "c", "start"), 2},
		{"refused", explain(temporal.NewApplicationError("alice has already approved this change", ""), "c", "approve"), 2},
		{"unreachable", explain(errors.New("connection refused"), "c", "approve"), 1},
	} {
		if got := ExitStatus(c.err); got != c.want {
			t.Errorf("%s: exit status %d, want %d (%v)", c.name, got, c.want, c.err)
		}
	}
	if err := explain(serviceerror.NewNotFound("x"), "chg-1", "approve"); err.Error() != "no change chg-1; `trailgate list` shows the changes" {
		t.Errorf("unknown change: %q", err)
	}
	refused := explain(temporal.NewApplicationError("dave requested this change and cannot approve it", "*errors.errorString"), "chg-1", "approve")
	if refused.Error() != "refused by change chg-1: dave requested this change and cannot approve it" {
		t.Errorf("refusal: %q", refused)
	}
}

func sampleProgress() workflows.ChangeProgress {
	at := time.Date(2026, 3, 7, 2, 30, 0, 0, time.UTC)
	return workflows.ChangeProgress{
		ChangeID: "disable-1", Action: workflows.ActionDisable, Requester: "dave", Reason: "CHG-7 | retire",
		Phase: workflows.PhaseSucceeded, CurrentWave: 1,
		Waves: []workflows.WaveProgress{{Number: 1, Organizations: []string{"acme-prod"}, NeedsApproval: true,
			Approvals: []workflows.Decision{{By: "alice", Comment: "ok"}, {By: "bob"}}, Phase: workflows.PhaseSucceeded}},
		Targets: []workflows.TargetSummary{{
			Organization: "acme-prod", WorkflowID: "disable-1/acme-prod", Wave: 1, Phase: workflows.PhaseSucceeded,
			Plan: &workflows.Plan{Steps: []workflows.PlanStep{{Kind: "disable-trusted-access", Description: "disable trusted access"}},
				Current: workflows.State{OrganizationID: "o-abc", ManagementAccountID: "111111111111", TrustedAccess: true, ServiceLinkedRole: true}},
			Inventory: &workflows.Inventory{OrganizationTrails: []workflows.TrailState{{ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/org", HomeRegion: "us-east-1", IsOrganizationTrail: true, IsLogging: true}}},
			Evidence:  &workflows.Evidence{At: at.Add(time.Minute), Checks: 2, Notes: []string{"organization trails and AWSServiceRoleForCloudTrail remain"}},
		}},
		Record: []workflows.RecordEntry{
			{At: at, Kind: "requested", People: []string{"dave"}, Detail: "dave requested disable"},
			{At: at.Add(time.Second), Organization: "acme-prod", Kind: "cleanup-confirmed", People: []string{"carol"}, Detail: "cleanup done | acknowledged"},
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
		"| Requested by | dave |",
		`| Reason | CHG-7 \| retire |`,
		"| Outcome | **succeeded**, verified |",
		"[disable-1](http://127.0.0.1:8233/namespaces/default/workflows/disable-1)",
		"## Waves",
		"| 1 | acme-prod | required | alice (ok), bob | succeeded |",
		"### acme-prod",
		"1. `disable-trusted-access`: disable trusted access",
		"organization trail `arn:aws:cloudtrail:us-east-1:111111111111:trail/org` (home region us-east-1, logging on): stops logging for member accounts",
		"after 2 check(s)",
		"organization trails and AWSServiceRoleForCloudTrail remain",
		"| 2026-03-07 02:30:00 | - | requested | dave | dave requested disable |\n| 2026-03-07 02:30:00 | acme-prod | mutation | - | disabled trusted access |\n",
		`| 2026-03-07 02:30:01 | acme-prod | cleanup-confirmed | carol | cleanup done \| acknowledged |`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown record lacks %q:\n%s", want, md)
		}
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
