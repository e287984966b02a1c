package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/proof"
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
		{"refused", explain(temporal.NewApplicationError("alice has already approved this change", workflows.ErrDecisionRefused), "c", "approve"), 2},
		{"refused request", &refusal{by: "the worker", reason: "change c: the proof is bob's"}, 2},
		{"unreachable", explain(errors.New("connection refused"), "c", "approve"), 1},
	} {
		if got := ExitStatus(c.err); got != c.want {
			t.Errorf("%s: exit status %d, want %d (%v)", c.name, got, c.want, c.err)
		}
	}
	if err := explain(serviceerror.NewNotFound("x"), "chg-1", "approve"); err.Error() != "no change chg-1; `trailgate list` shows the changes" {
		t.Errorf("unknown change: %q", err)
	}
	refused := explain(temporal.NewApplicationError("dave requested this change and cannot approve it", workflows.ErrDecisionRefused), "chg-1", "approve")
	if refused.Error() != "refused by change chg-1: dave requested this change and cannot approve it" {
		t.Errorf("refusal: %q", refused)
	}
}

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
	writeStatus(&b, p, changeExecution{}, "")
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

func TestFailedProgressOfARefusedRequest(t *testing.T) {
	p := sampleProgress()
	p.Phase = workflows.PhaseRejected
	err := temporal.NewNonRetryableApplicationError("the proof is bob's, not dave's", workflows.ErrDecisionRefused, nil, p)
	got, ok := failedProgress(fmt.Errorf("workflow failed: %w", err))
	if !ok || got.ChangeID != p.ChangeID || got.Phase != workflows.PhaseRejected {
		t.Errorf("a refused request's progress: %+v %v", got, ok)
	}
	if _, ok := failedProgress(temporal.NewApplicationError("no details", workflows.ErrDecisionRefused)); ok {
		t.Errorf("an error without a change's progress has none")
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

// Access keys of the people's profiles in sharedAWSFiles.
const (
	aliceKeyID = "AKIAALICE000000000001"
	bobKeyID   = "AKIABOB00000000000002"
	opsKeyID   = "AKIAOPERATOR000000003"
	dfltKeyID  = "AKIADEFAULT0000000004"
)

// isolateAWS keeps the AWS SDK from finding credentials outside the test:
// environment keys, the home directory's files, instance metadata.
func isolateAWS(t *testing.T) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// sharedAWSFiles writes AWS config and credentials files with profiles
// alice, bob and operator, and, when withDefault, a default profile.
func sharedAWSFiles(t *testing.T, withDefault bool) config.AWS {
	t.Helper()
	dir := t.TempDir()
	creds := "[alice]\naws_access_key_id = " + aliceKeyID + "\naws_secret_access_key = alice-secret\n" +
		"[bob]\naws_access_key_id = " + bobKeyID + "\naws_secret_access_key = bob-secret\n" +
		"[operator]\naws_access_key_id = " + opsKeyID + "\naws_secret_access_key = operator-secret\n"
	if withDefault {
		creds += "[default]\naws_access_key_id = " + dfltKeyID + "\naws_secret_access_key = default-secret\n"
	}
	c := config.AWS{Region: "eu-west-1", ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials")}
	if err := os.WriteFile(c.ConfigFile, []byte("[profile alice]\n[profile bob]\n[profile operator]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.CredentialsFile, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// proofWorld is a configuration whose people have AWS profiles, and the
// worker's key that opens their proofs.
type proofWorld struct {
	cfg config.Config
	key *proof.PrivateKey
	env map[string]string
	at  time.Time
}

func newProofWorld(t *testing.T, withDefault bool) *proofWorld {
	t.Helper()
	isolateAWS(t)
	key, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.AWS = sharedAWSFiles(t, withDefault)
	// The worker's own identity, which a person's proof never uses.
	cfg.AWS.Profile = "operator"
	cfg.AWS.EndpointURL = "http://127.0.0.1:4566"
	cfg.Identity.WorkerKey = key.Public().String()
	return &proofWorld{cfg: cfg, key: key, env: map[string]string{}, at: time.Date(2026, 3, 7, 2, 30, 0, 0, time.UTC)}
}

func (w *proofWorld) person(t *testing.T, f IdentityFlags) (person, error) {
	t.Helper()
	src := identitySources{lookupEnv: func(k string) (string, bool) { v, ok := w.env[k]; return v, ok }, now: func() time.Time { return w.at }}
	return src.person(context.Background(), w.cfg, f)
}

// open is what the worker reads of a sealed proof: the binding its signed
// header carries, and the request's signature.
func (w *proofWorld) open(t *testing.T, who workflows.Who) (binding, authorization string) {
	t.Helper()
	if who.Proof == "" {
		t.Fatalf("no proof in %+v", who)
	}
	if strings.Contains(who.Proof, "secret") {
		t.Fatalf("the sealed proof shows a secret key: %q", who.Proof)
	}
	req, err := w.key.Open(who.Proof)
	if err != nil {
		t.Fatalf("the worker cannot open the proof: %v", err)
	}
	return req.Binding(), req.Headers["Authorization"]
}

func TestProofOfADecision(t *testing.T) {
	w := newProofWorld(t, true)
	p, err := w.person(t, IdentityFlags{Profile: "alice", As: " alice "})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(p.nonce) {
		t.Errorf("nonce %q, want 16 random bytes in hex", p.nonce)
	}
	d := workflows.Decision{Who: p.who(), Comment: "CAB ok", Wave: 2}
	if d.By != "alice" || d.Nonce != p.nonce || d.Proof != "" {
		t.Fatalf("before it is proven, the decision carries the name and the nonce: %+v", d.Who)
	}
	want := d.Binding("enable-1", workflows.DecisionApprove)
	if d.Who, err = p.prove(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	binding, auth := w.open(t, d.Who)
	if binding != want.String() {
		t.Errorf("the proof is bound to %q, want %q", binding, want)
	}
	// The worker computes the binding from the decision it receives.
	if got := d.Binding("enable-1", workflows.DecisionApprove).String(); got != binding {
		t.Errorf("the decision as sent binds %q, the proof %q", got, binding)
	}
	if !strings.Contains(auth, "Credential="+aliceKeyID+"/20260307/eu-west-1/sts/aws4_request") {
		t.Errorf("want a signature by alice's key for eu-west-1 (aws.region, with the sandbox's STS), got %q", auth)
	}
	if d.By != "alice" {
		t.Errorf("--as goes with the proof as the name the worker checks: %+v", d.Who)
	}

	// Each command proves anew: another nonce, another proof.
	again, err := w.person(t, IdentityFlags{Profile: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if again.nonce == p.nonce {
		t.Errorf("two commands share nonce %s", p.nonce)
	}
	if _, err := again.prove(context.Background(), want); err == nil {
		t.Errorf("a proof bound to another command's nonce was made")
	}
}

func TestProofOfARequestCoversTheWholeInput(t *testing.T) {
	w := newProofWorld(t, false)
	dave, err := w.person(t, IdentityFlags{Profile: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	in := ChangeCommandInput{Action: workflows.ActionDisable, Organizations: []string{"acme-prod"}, Waves: []string{"1"}, Reason: "CHG-9"}
	ci, err := in.changeInput(w.cfg, w.at)
	if err != nil {
		t.Fatal(err)
	}
	ci, err = dave.request(context.Background(), ci)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Requester.Nonce != dave.nonce || ci.Requester.By != "" {
		t.Errorf("requester %+v: want the proof's nonce and no name", ci.Requester)
	}
	binding, auth := w.open(t, ci.Requester)
	if binding != ci.Binding().String() {
		t.Errorf("the request's proof is bound to %q, the input as sent to %q", binding, ci.Binding())
	}
	if !strings.Contains(auth, "Credential="+bobKeyID+"/") {
		t.Errorf("want bob's signature, got %q", auth)
	}
	changed := ci
	changed.Reason = "CHG-10"
	if changed.Binding().String() == binding {
		t.Errorf("the proof does not cover the reason")
	}
	changed = ci
	changed.Organizations = []string{"acme-prod", "globex"}
	if changed.Binding().String() == binding {
		t.Errorf("the proof does not cover the organizations")
	}
}

func TestWhichCredentialsProve(t *testing.T) {
	w := newProofWorld(t, true)
	keyOf := func(f IdentityFlags) string {
		t.Helper()
		p, err := w.person(t, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		who, err := p.prove(context.Background(), workflows.IdentifyBinding(p.who().Nonce))
		if err != nil {
			t.Fatal(err)
		}
		_, auth := w.open(t, who)
		for _, id := range []string{aliceKeyID, bobKeyID, opsKeyID, dfltKeyID} {
			if strings.Contains(auth, id) {
				return id
			}
		}
		return auth
	}
	if got := keyOf(IdentityFlags{}); got != dfltKeyID {
		t.Errorf("no --profile, no AWS_PROFILE: signed by %s, want the default profile, never aws.profile", got)
	}
	w.env[profileEnv] = "bob"
	if got := keyOf(IdentityFlags{}); got != bobKeyID {
		t.Errorf("AWS_PROFILE=bob: signed by %s", got)
	}
	if got := keyOf(IdentityFlags{Profile: "alice"}); got != aliceKeyID {
		t.Errorf("--profile alice over AWS_PROFILE=bob: signed by %s", got)
	}
}

func TestProofRegion(t *testing.T) {
	cfg := config.Default()
	cfg.AWS.Region = "eu-west-1"
	if got := signingRegion(cfg); got != "us-east-1" {
		t.Errorf("AWS's global STS endpoint is signed for us-east-1, not %s", got)
	}
	cfg.Identity.STSEndpoint = "https://sts.eu-west-1.amazonaws.com"
	if got := signingRegion(cfg); got != "eu-west-1" {
		t.Errorf("a regional endpoint is signed for aws.region, not %s", got)
	}
	cfg.AWS.Region = ""
	if got := signingRegion(cfg); got != "us-east-1" {
		t.Errorf("without aws.region: %s", got)
	}
}

func TestClaimsWithoutCredentials(t *testing.T) {
	w := newProofWorld(t, false)
	w.cfg.AWS = config.AWS{}
	p, err := w.person(t, IdentityFlags{As: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	who, err := p.prove(context.Background(), workflows.IdentifyBinding(""))
	if err != nil || who != (workflows.Who{By: "dave"}) || !p.claims() {
		t.Errorf("--as without credentials: %+v (%v), want a claim with no proof and no nonce", who, err)
	}
	w.env[UserEnv] = "carol"
	if p, err := w.person(t, IdentityFlags{}); err != nil || p.who().By != "carol" {
		t.Errorf("$%s names a claim: %+v (%v)", UserEnv, p.who(), err)
	}
	if p, _ := w.person(t, IdentityFlags{As: "dave"}); p.who().By != "dave" {
		t.Errorf("--as wins over $%s: %+v", UserEnv, p.who())
	}
	delete(w.env, UserEnv)
	_, err = w.person(t, IdentityFlags{})
	if ExitStatus(err) != ExitUsage || !strings.Contains(fmt.Sprint(err), "no AWS credentials to prove who you are: use --profile NAME or AWS_PROFILE") || !strings.Contains(fmt.Sprint(err), "identity.allow_claims") {
		t.Errorf("nobody: want a usage error that says how to prove who you are, got %v", err)
	}
	// A profile that is named must prove: it never falls back to a claim.
	_, err = w.person(t, IdentityFlags{Profile: "alice", As: "alice"})
	if ExitStatus(err) != ExitUsage || !strings.Contains(fmt.Sprint(err), "AWS profile alice (--profile)") {
		t.Errorf("--profile without such a profile: %v", err)
	}
}

func TestIdentityErrorsSayWhatToDo(t *testing.T) {
	w := newProofWorld(t, false)
	w.env[profileEnv] = "nobody"
	_, err := w.person(t, IdentityFlags{})
	if ExitStatus(err) != ExitUsage || !strings.Contains(fmt.Sprint(err), "AWS profile nobody ($AWS_PROFILE): no such profile in "+w.cfg.AWS.ConfigFile) {
		t.Errorf("an unknown AWS_PROFILE: %v", err)
	}
	delete(w.env, profileEnv)

	w.cfg.Identity.WorkerKey = ""
	_, err = w.person(t, IdentityFlags{Profile: "alice"})
	if ExitStatus(err) != ExitUsage || fmt.Sprint(err) != "identity.worker_key is not set: ask an operator for the worker's public key (trailgate-worker --print-proof-key)" {
		t.Errorf("no worker key: %v", err)
	}
	w.cfg.Identity.WorkerKey = "not a key"
	_, err = w.person(t, IdentityFlags{Profile: "alice"})
	if ExitStatus(err) != ExitUsage || !strings.Contains(fmt.Sprint(err), "identity.worker_key is not a key the worker made") || !strings.Contains(fmt.Sprint(err), "--print-proof-key") {
		t.Errorf("a worker key that does not parse: %v", err)
	}
	// A claim needs no worker key.
	w.cfg.AWS = config.AWS{}
	if _, err := w.person(t, IdentityFlags{As: "dave"}); err != nil {
		t.Errorf("a claim without a worker key: %v", err)
	}
}

func TestDoctorIdentityChecks(t *testing.T) {
	key, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	checks := identityChecks(cfg)
	if len(checks) != 2 || checks[0].OK || !strings.Contains(checks[0].Detail, "identity.worker_key is not set") || !strings.Contains(checks[0].Fix, "--print-proof-key") {
		t.Errorf("no worker key: %+v", checks)
	}
	cfg.Identity.WorkerKey = key.Public().String()
	cfg.Identity.AllowClaims = true
	checks = identityChecks(cfg)
	if !checks[0].OK || !strings.Contains(checks[0].Detail, key.Public().Fingerprint()) {
		t.Errorf("a worker key that parses: %+v", checks[0])
	}
	claims := checks[1]
	if !claims.OK || !claims.Warn || claims.Detail != "claims are accepted: decisions typed with --as are taken on trust and marked claimed, not verified" {
		t.Errorf("claims accepted: want a warning, not a failure: %+v", claims)
	}
	var b strings.Builder
	if err := writeDoctorTable(&b, DoctorReport{OK: true, Checks: checks}); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`claims +warn +claims are accepted`).MatchString(b.String()) || !strings.Contains(b.String(), "All 2 checks passed (1 with a warning).") {
		t.Errorf("doctor's table:\n%s", b.String())
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
