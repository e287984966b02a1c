package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// world is trailgate running in this process (Temporal's server, the AWS
// sandbox and a worker) and a configuration file for the CLI to use.
type world struct {
	t          *testing.T
	env        *testenv.Env
	aws        *awssandbox.TestEnv
	configPath string
}

func startWorld(t *testing.T) *world {
	t.Helper()
	e := testenv.Start(t, testenv.Options{})
	path := filepath.Join(t.TempDir(), "trailgate.yaml")
	if err := config.WriteFile(path, e.Config); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, env: e, aws: e.AWS, configPath: path}
}

// result is what a person sees of one command: its output and exit status.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit status %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs `trailgate --config <file> args...` as bin/trailgate does.
func (w *world) run(args ...string) result {
	w.t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := Main(ctx, append([]string{"--config", w.configPath}, args...), &out, &errOut)
	r := result{stdout: out.String(), stderr: errOut.String(), code: code}
	w.t.Logf("$ trailgate %s\n%s%s(exit status %d)", strings.Join(args, " "), r.stdout, r.stderr, r.code)
	return r
}

func (w *world) expect(r result, code int, says ...string) {
	w.t.Helper()
	if r.code != code {
		w.t.Fatalf("want exit status %d, got %s", code, r)
	}
	for _, s := range says {
		if !strings.Contains(r.stdout+r.stderr, s) {
			w.t.Fatalf("want the output to say %q, got %s", s, r)
		}
	}
}

// awsState is what AWS says about every organization, read through the AWS
// SDK as each management account.
type awsState map[string]orgState

type orgState struct {
	TrustedAccess []string
	Role          bool
	Trails        []string
	Buckets       []string
}

func (w *world) readAWS() awsState {
	w.t.Helper()
	ctx := context.Background()
	st := awsState{}
	for _, o := range w.aws.Orgs {
		cfg := w.aws.ConfigFor(o.ManagementAccountID)
		var s orgState
		out, err := organizations.NewFromConfig(cfg).ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})
		if err != nil {
			w.t.Fatalf("read trusted access of %s: %v", o.Name, err)
		}
		for _, p := range out.EnabledServicePrincipals {
			s.TrustedAccess = append(s.TrustedAccess, aws.ToString(p.ServicePrincipal))
		}
		_, err = iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(activities.ServiceLinkedRoleName)})
		s.Role = err == nil
		trails, err := cloudtrail.NewFromConfig(cfg).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		if err != nil {
			w.t.Fatalf("read trails of %s: %v", o.Name, err)
		}
		for _, tr := range trails.TrailList {
			status, err := cloudtrail.NewFromConfig(cfg).GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: tr.TrailARN})
			if err != nil {
				w.t.Fatalf("read trail status of %s: %v", aws.ToString(tr.TrailARN), err)
			}
			s.Trails = append(s.Trails, fmt.Sprintf("%s org=%v logging=%v", aws.ToString(tr.TrailARN), aws.ToBool(tr.IsOrganizationTrail), aws.ToBool(status.IsLogging)))
		}
		buckets, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			w.t.Fatalf("list buckets of %s: %v", o.Name, err)
		}
		for _, b := range buckets.Buckets {
			s.Buckets = append(s.Buckets, aws.ToString(b.Name))
		}
		st[o.Name] = s
	}
	return st
}

func (s orgState) enabled() bool { return slices.Contains(s.TrustedAccess, "cloudtrail.amazonaws.com") }

func decodeJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output is not the documented JSON (%v): %s", err, r)
	}
	return v
}

func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Temporal's server, the AWS sandbox and a worker")
	}
	followEvery = 100 * time.Millisecond
	w := startWorld(t)

	t.Run("configuration and usage errors exit 2", func(t *testing.T) {
		w.t = t
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte("temporal:\n  adress: x\napprovals:\n  required: 0\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		w.expect(w.run("--config", bad, "list"), 2, "adress", "approvals.required")
		w.expect(w.run("enable"), 2, "no organizations", "acme-prod, acme-staging, globex")
		w.expect(w.run("enable", "--org", "initech", "--waves", "rest,1"), 2, "initech", "--waves")
		w.expect(w.run("approve"), 2, "one change ID")
		w.expect(w.run("enable", "--all", "--bogus"), 2, "unknown flag")
		w.expect(w.run("disable", "--all", "--window", "someday 02:00+1h"), 2, "maintenance window")
		w.expect(w.run("plan", "rollout", "--all"), 2, "plan enable")
	})

	t.Run("plan reads and leaves AWS untouched", func(t *testing.T) {
		w.t = t
		before := w.readAWS()
		r := w.run("plan", "enable", "--all", "--json")
		w.expect(r, 0)
		res := decodeJSON[workflows.PlanResult](t, r)
		if len(res.Targets) != 3 {
			t.Fatalf("plan of %d organizations, want 3: %s", len(res.Targets), r)
		}
		for _, tp := range res.Targets {
			if tp.Error != "" || tp.Plan == nil || !tp.Plan.Has(workflows.StepEnableTrustedAccess) {
				t.Errorf("%s: want a plan that enables trusted access, got %+v", tp.Organization, tp)
			}
		}
		w.expect(w.run("plan", "disable", "--org", "globex"), 0, "globex", "nothing to do")
		if after := w.readAWS(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("plan changed AWS:\nbefore %v\nafter  %v", before, after)
		}
	})

	t.Run("unknown change", func(t *testing.T) {
		w.t = t
		for _, cmd := range [][]string{{"approve", "nope", "--as", "alice"}, {"status", "nope"}, {"record", "nope"}, {"cancel", "nope", "--reason", "x"}} {
			w.expect(w.run(cmd...), 2, "no change nope; `trailgate list` shows the changes")
		}
	})

	const enableID = "enable-cli-test"
	t.Run("enable in two waves with refusals at the gate", func(t *testing.T) {
		w.t = t
		w.expect(w.run("enable", "--org", "acme-prod", "--org", "acme-staging", "--waves", "1,rest", "--approve-every-wave",
			"--change-id", enableID, "--reason", "CHG-1", "--as", "dave"), 0, "Change "+enableID+" started", "/namespaces/default/workflows/"+enableID)
		w.expect(w.run("enable", "--all", "--change-id", enableID, "--as", "dave"), 2, "already exists")
		w.expect(w.run("status", enableID, "--watch", "--until-gate"), 0, "awaits 2 approval(s) of wave 1 from alice, bob")

		w.expect(w.run("confirm-cleanup", enableID, "--as", "carol"), 2, "no organization awaits cleanup confirmation")
		w.expect(w.run("approve", enableID, "--as", "dave"), 2, "dave requested this change and cannot approve it")
		w.expect(w.run("approve", enableID, "--as", "mallory"), 2, "mallory is not an approver")
		w.expect(w.run("approve", enableID, "--as", "alice", "--comment", "CAB ok"), 0, "alice approved change "+enableID)
		w.expect(w.run("approve", enableID, "--as", "alice"), 2, "alice has already approved this change")
		w.expect(w.run("approve", enableID, "--as", "bob", "--wave", "2"), 2, "not wave 2")
		w.expect(w.run("resume", enableID, "--as", "dave"), 2, "is not paused")
		w.expect(w.run("approve", enableID, "--as", "bob", "--wait"), 0, "awaits 2 approval(s) of wave 2")
		if st := w.readAWS(); !st["acme-prod"].enabled() || st["acme-staging"].enabled() {
			t.Fatalf("after wave 1 only acme-prod must be enabled: %v", st)
		}
		w.expect(w.run("approve", enableID, "--as", "alice"), 0)
		w.expect(w.run("approve", enableID, "--as", "bob", "--wait"), 0, "succeeded")

		st := w.readAWS()
		for _, org := range []string{"acme-prod", "acme-staging"} {
			if !st[org].enabled() || !st[org].Role || len(st[org].Buckets) != 1 || len(st[org].Trails) != 1 || !strings.Contains(st[org].Trails[0], "org=true logging=true") {
				t.Errorf("%s after the enable: %+v", org, st[org])
			}
		}
		if st["globex"].enabled() {
			t.Errorf("globex was not part of the change: %+v", st["globex"])
		}
	})

	t.Run("an ended change refuses decisions", func(t *testing.T) {
		w.t = t
		w.expect(w.run("approve", enableID, "--as", "alice"), 2, "has already ended (succeeded)")
		w.expect(w.run("pause", enableID, "--as", "alice", "--reason", "late"), 2, "has already ended")
	})

	t.Run("status, list and record", func(t *testing.T) {
		w.t = t
		r := w.run("status", enableID, "--json")
		w.expect(r, 0)
		p := decodeJSON[workflows.ChangeProgress](t, r)
		if p.Phase != workflows.PhaseSucceeded || len(p.Waves) != 2 || p.Requester != "dave" || len(p.Waves[0].Approvals) != 2 {
			t.Errorf("status --json: %+v", p)
		}
		w.expect(w.run("status", enableID), 0, "succeeded", "acme-staging")

		r = w.run("list", "--json")
		w.expect(r, 0)
		list := decodeJSON[[]ChangeListing](t, r)
		if !slices.ContainsFunc(list, func(c ChangeListing) bool {
			return c.ChangeID == enableID && c.Action == "enable" && c.Phase == "succeeded" && c.Status == "completed"
		}) {
			t.Errorf("list --json lacks %s: %+v", enableID, list)
		}
		w.expect(w.run("list"), 0, enableID)

		md := filepath.Join(t.TempDir(), "record.md")
		w.expect(w.run("record", enableID, "-o", md), 0)
		text, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"# Change " + enableID, "alice (CAB ok), bob", "### acme-prod", "Evidence read back from AWS", "| approved | alice |", "| acme-prod | mutation |"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("the Markdown record lacks %q:\n%s", want, text)
			}
		}
		r = w.run("record", enableID, "--format", "json")
		w.expect(r, 0)
		rec := decodeJSON[ChangeRecord](t, r)
		if len(rec.Targets) != 2 || !slices.ContainsFunc(rec.Entries, func(e workflows.RecordEntry) bool {
			return e.Organization == "acme-staging" && e.Kind == "mutation"
		}) {
			t.Errorf("the JSON record lacks the organizations' mutations: %+v", rec)
		}
	})

	const disableID = "disable-cli-test"
	t.Run("a rejected disable exits 1 and changes nothing", func(t *testing.T) {
		w.t = t
		w.expect(w.run("disable", "--org", "acme-prod", "--change-id", disableID, "--as", "dave"), 0)
		w.expect(w.run("status", disableID, "--watch", "--until-gate"), 0, "cleanup confirmation", "carol")
		w.expect(w.run("approve", disableID, "--as", "alice"), 2, "not awaiting approval")
		w.expect(w.run("confirm-cleanup", disableID, "--as", "alice"), 2, "alice is not a CloudTrail administrator")
		w.expect(w.run("reject", disableID, "--as", "alice", "--comment", "not this week", "--wait"), 1, "rejected")
		w.expect(w.run("status", disableID), 1, "rejected")
		if st := w.readAWS(); !st["acme-prod"].enabled() {
			t.Fatalf("a rejected disable must leave trusted access on: %+v", st["acme-prod"])
		}
	})

	t.Run("pause, resume and cancel", func(t *testing.T) {
		w.t = t
		const id = "enable-globex-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--as", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits 2 approval(s)")
		w.expect(w.run("pause", id, "--as", "dave"), 2, "--reason")
		w.expect(w.run("pause", id, "--as", "mallory", "--reason", "x"), 2, "mallory may not steer")
		w.expect(w.run("pause", id, "--as", "dave", "--reason", "freeze"), 0, "dave paused change "+id)
		w.expect(w.run("status", id), 0, "paused by dave: freeze")
		w.expect(w.run("resume", id, "--as", "alice"), 0, "alice resumed change "+id)
		r := w.run("cancel", id, "--as", "bob", "--reason", "not needed", "--wait", "--json")
		w.expect(r, 1)
		if p := decodeJSON[workflows.ChangeProgress](t, r); p.Phase != workflows.PhaseCancelled {
			t.Errorf("cancel --wait --json: phase %s, want cancelled", p.Phase)
		}
		if st := w.readAWS(); st["globex"].enabled() {
			t.Errorf("a cancelled change must leave globex alone: %+v", st["globex"])
		}
	})

	const stagingDisableID = "disable-staging-cli-test"
	t.Run("a disable waits for an acknowledged cleanup confirmation while trails remain", func(t *testing.T) {
		w.t = t
		w.expect(w.run("disable", "--org", "acme-staging", "--change-id", stagingDisableID, "--as", "dave"), 0)
		w.expect(w.run("status", stagingDisableID, "--watch", "--until-gate"), 0, "awaits cleanup confirmation", "carol")
		w.expect(w.run("confirm-cleanup", stagingDisableID, "--as", "carol", "--org", "globex"), 2, "organization globex is not part of change "+stagingDisableID)
		w.expect(w.run("confirm-cleanup", stagingDisableID, "--as", "carol", "--wait"), 0,
			"organization trails remained", "--acknowledge-member-logging-stops", "awaits cleanup confirmation")
		if st := w.readAWS(); !st["acme-staging"].enabled() {
			t.Fatalf("a confirmation without acknowledgement must not disable: %+v", st["acme-staging"])
		}
		w.expect(w.run("confirm-cleanup", stagingDisableID, "--as", "carol", "--acknowledge-member-logging-stops", "--org", "acme-staging", "--wait"), 0,
			"awaits 2 approval(s)")
		w.expect(w.run("approve", stagingDisableID, "--as", "alice"), 0)
		w.expect(w.run("approve", stagingDisableID, "--as", "bob", "--wait"), 0, "succeeded")
		st := w.readAWS()
		if st["acme-staging"].enabled() || len(st["acme-staging"].Trails) != 1 || !st["acme-staging"].Role {
			t.Fatalf("after the disable, trusted access is off and the trail and the role remain: %+v", st["acme-staging"])
		}
	})

	t.Run("rollback", func(t *testing.T) {
		w.t = t
		w.expect(w.run("rollback", enableID, "--as", "dave"), 2, "a rollback re-enables trusted access after a disable")
		w.expect(w.run("rollback", stagingDisableID, "--as", "dave", "--reason", "member accounts need their trail"), 0, stagingDisableID+"-rollback started")
		w.expect(w.run("rollback", stagingDisableID, "--as", "dave"), 2, "already exists")
		w.expect(w.run("status", stagingDisableID+"-rollback", "--watch", "--until-gate"), 0, "awaits 2 approval(s)")
		w.expect(w.run("approve", stagingDisableID+"-rollback", "--as", "alice"), 0)
		r := w.run("approve", stagingDisableID+"-rollback", "--as", "bob", "--wait", "--json")
		w.expect(r, 0)
		if p := decodeJSON[workflows.ChangeProgress](t, r); p.Action != workflows.ActionRollback || p.Phase != workflows.PhaseRolledBack {
			t.Errorf("rollback: %+v", p)
		}
		if st := w.readAWS(); !st["acme-staging"].enabled() || !strings.Contains(fmt.Sprint(st["acme-staging"].Trails), "logging=true") {
			t.Errorf("after the rollback, trusted access is on and the trail logs: %+v", st["acme-staging"])
		}
	})

	t.Run("a denied organization fails the change and the plan: exit 1", func(t *testing.T) {
		w.t = t
		globex := w.env.Org("globex").ManagementAccountID
		w.aws.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "EnableAWSServiceAccess", AccountID: globex, Error: "AccessDeniedException"}})
		defer w.aws.Sandbox.SetFaults(nil)
		const id = "enable-denied-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--as", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits")
		w.expect(w.run("approve", id, "--as", "alice"), 0)
		w.expect(w.run("approve", id, "--as", "bob", "--wait"), 1, "ended halted", "globex: ", "AccessDenied")
		w.expect(w.run("status", id), 1, "halted", "error: ")
		r := w.run("status", id, "--json")
		w.expect(r, 1)
		if p := decodeJSON[workflows.ChangeProgress](t, r); p.Phase != workflows.PhaseHalted || p.Failed != 1 || p.Targets[0].Error == "" {
			t.Errorf("status --json of a halted change: %+v", p)
		}
		w.expect(w.run("record", id), 0, "**halted**", "Error: ")

		w.aws.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "DescribeOrganization", AccountID: globex, Error: "AccessDeniedException"}})
		w.expect(w.run("plan", "enable", "--org", "globex", "--org", "acme-prod"), 1, "cannot plan", "could not read globex")
	})

	t.Run("a maintenance window holds mutations", func(t *testing.T) {
		w.t = t
		const id = "enable-window-cli-test"
		opens := time.Now().UTC().Add(12 * time.Hour).Format("15:04")
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--window", opens+"+1h", "--as", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits")
		w.expect(w.run("approve", id, "--as", "alice"), 0)
		w.expect(w.run("approve", id, "--as", "bob"), 0)
		r := w.run("status", id, "--json")
		for i := 0; i < 50 && !strings.Contains(r.stdout, `"phase": "awaiting-window"`); i++ {
			time.Sleep(100 * time.Millisecond)
			r = w.run("status", id, "--json")
		}
		if p := decodeJSON[workflows.ChangeProgress](t, r); p.Phase != workflows.PhaseAwaitingWindow || p.Awaiting == nil || p.Awaiting.Expires.UTC().Format("15:04") != opens {
			t.Fatalf("want the change awaiting the window at %s: %+v", opens, p)
		}
		w.expect(w.run("status", id), 0, "awaiting-window", "waits for the next maintenance window, which opens at")
		w.expect(w.run("cancel", id, "--as", "dave", "--reason", "not tonight", "--wait"), 1, "cancelled")
		if st := w.readAWS(); st["globex"].enabled() {
			t.Errorf("nothing may change outside the window: %+v", st["globex"])
		}
	})

	t.Run("no worker", func(t *testing.T) {
		w.t = t
		const id = "enable-no-worker-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--as", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits")
		w.env.StopWorker()
		defer w.env.StartWorker(activities.Polling{})
		decisionTimeout = 2 * time.Second
		defer func() { decisionTimeout = 30 * time.Second }()
		w.expect(w.run("approve", id, "--as", "alice"), 1, "the worker did not answer in time", "trailgate doctor")
	})
}
