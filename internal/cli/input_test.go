package cli

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/workflows"
)

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
		Organizations: []string{"acme-prod", "initech", "acme-prod", " "},
		All:           true,
		ChangeID:      "-bad id",
		Waves:         []string{"rest", "1"},
		Concurrency:   -1,
		FailureBudget: -1,
		Windows:       []string{"someday 25:00+1h"},
		Identity:      IdentityFlags{Profile: "my profile", As: "dave smith"},
	}
	err := bad.validate(cfg)
	if ExitStatus(err) != ExitUsage {
		t.Fatalf("exit status %d, want %d: %v", ExitStatus(err), ExitUsage, err)
	}
	for _, want := range []string{"not both", "given twice", "empty name", "change ID", "--waves", "--concurrency", "--failure-budget", "--window", "--profile", "--as"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %q:\n%v", want, err)
		}
	}
	// Which organizations exist is the worker's to say.
	if strings.Contains(err.Error(), "initech") {
		t.Errorf("the CLI judged an organization name the worker owns:\n%v", err)
	}
	none := ChangeCommandInput{Action: workflows.ActionDisable}
	if err := none.validate(cfg); err == nil || !strings.Contains(err.Error(), "acme-prod, acme-staging, globex") {
		t.Errorf("no organizations: want the configured ones listed, got %v", err)
	}
	cfg.Organizations = nil
	if err := (ChangeCommandInput{Action: workflows.ActionEnable, All: true}).validate(cfg); err == nil || !strings.Contains(err.Error(), "--all: the configuration lists no organizations") {
		t.Errorf("--all without organizations: %v", err)
	}
}

func TestChangeInputFromCommand(t *testing.T) {
	cfg := testConfig()
	now := time.Date(2026, 3, 7, 2, 30, 0, 0, time.UTC)
	in := ChangeCommandInput{Action: workflows.ActionEnable, Organizations: []string{"globex", "acme-prod"}, Waves: parseWaves([]string{"1,rest"}), Windows: []string{"sat,sun 02:00+6h"}, Reason: " CHG-1 "}
	ci, err := in.changeInput(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^enable-20260307-023000-[a-z0-9]{4}$`).MatchString(ci.ChangeID) {
		t.Errorf("generated change ID %q", ci.ChangeID)
	}
	if !slices.Equal(ci.Organizations, []string{"globex", "acme-prod"}) {
		t.Errorf("organizations %v, want the names in the order given", ci.Organizations)
	}
	if ci.Reason != "CHG-1" || len(ci.Windows) != 1 || ci.Requester != (workflows.Who{}) {
		t.Errorf("change input %+v", ci)
	}
	all, err := ChangeCommandInput{Action: workflows.ActionDisable, All: true}.changeInput(cfg, now)
	if err != nil || !slices.Equal(all.Organizations, []string{"acme-prod", "acme-staging", "globex"}) {
		t.Errorf("--all: organizations %v (%v), want the configuration's names in its order", all.Organizations, err)
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
		{ControlCommandInput{Update: workflows.UpdateResume, ChangeID: "x", Identity: IdentityFlags{As: "a\tb"}}.validate(), "--as"},
		{CleanupCommandInput{ChangeID: "x", Identity: IdentityFlags{Profile: "a b"}}.validate(), "--profile"},
		{RollbackCommandInput{ChangeID: "x", RollbackID: "-"}.validate(), "change ID"},
		{WhoamiCommandInput{Identity: IdentityFlags{Profile: "a b"}}.validate(), "--profile"},
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
