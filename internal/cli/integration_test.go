package cli

import (
	"google.golang.org/protobuf/encoding/protojson"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// world is trailgate running in this process (Temporal's server, the AWS
// sandbox and a worker) and a configuration file for the CLI to use. The
// people alice, bob, carol and dave each have an AWS profile of their name,
// signing as the sandbox IAM user the worker's configuration maps to them;
// mallory has a profile too, a sandbox user the worker maps to nobody. The
// configuration's aws.profile is the operator account's.
type world struct {
	t          *testing.T
	env        *testenv.Env
	aws        *sandboxtest.Env
	cfg        config.Config
	configPath string
}

func startWorld(t *testing.T) *world {
	t.Helper()
	isolateAWS(t)
	e := testenv.Start(t, testenv.Options{})
	if e.Config.Identity.WorkerKey == "" || len(e.Config.People) == 0 {
		t.Fatalf("testenv's configuration lacks the worker's key or its people: %+v %+v", e.Config.Identity, e.Config.People)
	}
	cfg := e.Config
	cfg.AWS.ConfigFile, cfg.AWS.CredentialsFile = sharedProfiles(t, e)
	cfg.AWS.Profile = operatorProfile
	w := &world{t: t, env: e, aws: e.AWS, cfg: cfg, configPath: filepath.Join(t.TempDir(), "trailgate.yaml")}
	w.writeConfig(func(*config.Config) {})
	return w
}

// operatorProfile is the worker's own identity in the CLI's configuration
// (aws.profile): doctor reaches the organizations with it, and no proof of a
// person ever uses it.
const operatorProfile = "operator"

// sharedProfiles writes AWS config and credentials files with a profile
// for each person of the sandbox and for mallory, as the dev default writes
// its people's, and one for the operator account.
func sharedProfiles(t *testing.T, e *testenv.Env) (configFile, credentialsFile string) {
	t.Helper()
	type profile struct{ name, keyID, secret string }
	var profiles []profile
	for _, p := range e.AWS.People {
		u := e.AWS.Person(p.Name)
		profiles = append(profiles, profile{u.Name, u.AccessKeyID, u.SecretAccessKey})
	}
	mallory, err := e.AWS.Sandbox.CreateUser(e.AWS.PeopleAccountID, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	profiles = append(profiles, profile{mallory.Name, mallory.AccessKeyID, mallory.SecretAccessKey},
		profile{operatorProfile, e.AWS.Operator.AccessKeyID, e.AWS.Operator.SecretAccessKey})
	var cfg, creds strings.Builder
	for _, p := range profiles {
		fmt.Fprintf(&cfg, "[profile %s]\nregion = %s\n", p.name, e.AWS.Sandbox.Region())
		fmt.Fprintf(&creds, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", p.name, p.keyID, p.secret)
	}
	dir := t.TempDir()
	configFile, credentialsFile = filepath.Join(dir, "aws-config"), filepath.Join(dir, "aws-credentials")
	for path, text := range map[string]string{configFile: cfg.String(), credentialsFile: creds.String()} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return configFile, credentialsFile
}

// writeConfig changes the CLI's configuration file.
func (w *world) writeConfig(change func(*config.Config)) {
	w.t.Helper()
	change(&w.cfg)
	if err := config.WriteFile(w.configPath, w.cfg); err != nil {
		w.t.Fatal(err)
	}
}

// retriedAttempt finds, in a history, an activity started more than once.
var retriedAttempt = regexp.MustCompile(`"attempt":\s*([2-9]|\d\d)`)

// setTrustedAccess turns trusted access for CloudTrail on or off by hand,
// as the organization's management account, and returns once AWS lists it
// so (the sandbox, like AWS, is eventually consistent).
func (w *world) setTrustedAccess(org string, on bool) {
	w.t.Helper()
	ctx := context.Background()
	c := organizations.NewFromConfig(w.aws.ConfigFor(w.env.Org(org).ManagementAccountID))
	var err error
	if on {
		_, err = c.EnableAWSServiceAccess(ctx, &organizations.EnableAWSServiceAccessInput{ServicePrincipal: aws.String(activities.ServicePrincipal)})
	} else {
		_, err = c.DisableAWSServiceAccess(ctx, &organizations.DisableAWSServiceAccessInput{ServicePrincipal: aws.String(activities.ServicePrincipal)})
	}
	if err != nil {
		w.t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		out, err := c.ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})
		if err != nil {
			w.t.Fatal(err)
		}
		if listed := slices.ContainsFunc(out.EnabledServicePrincipals, func(p orgtypes.EnabledServicePrincipal) bool {
			return aws.ToString(p.ServicePrincipal) == activities.ServicePrincipal
		}); listed == on {
			return
		}
	}
}

// historyOf is a workflow's history, as JSON.
func (w *world) historyOf(id string) string {
	w.t.Helper()
	iter := w.env.Client.GetWorkflowHistory(context.Background(), id, "", false, 0)
	var b strings.Builder
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			w.t.Fatal(err)
		}
		data, err := protojson.Marshal(ev)
		if err != nil {
			w.t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
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
		// Trusted access as the sandbox holds it, before its propagation
		// delay: a change that should have changed nothing is caught at once.
		on, err := w.aws.Sandbox.TrustedAccess(o.OrganizationID, activities.ServicePrincipal)
		if err != nil {
			w.t.Fatalf("read trusted access of %s: %v", o.Name, err)
		}
		if on {
			s.TrustedAccess = append(s.TrustedAccess, activities.ServicePrincipal)
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

// verified is how a command prints a person the worker proved: name and
// verified ARN.
func verified(name string) string { return name + " (arn:aws:iam::" }

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
		w.expect(w.run("enable", "--profile", "dave"), 2, "no organizations", "acme-prod, acme-staging, globex")
		w.expect(w.run("enable", "--org", "acme-prod", "--waves", "rest,1", "--profile", "dave"), 2, "--waves")
		w.expect(w.run("approve"), 2, "one change ID")
		w.expect(w.run("enable", "--all", "--bogus"), 2, "unknown flag")
		w.expect(w.run("disable", "--all", "--window", "someday 02:00+1h"), 2, "maintenance window")
		w.expect(w.run("plan", "rollout", "--all"), 2, "plan enable")
		w.expect(w.run("enable", "--all", "--profile", "nobody"), 2, "AWS profile nobody (--profile): no such profile")
		w.expect(w.run("whoami"), 2, "no AWS credentials to prove who you are: use --profile NAME or AWS_PROFILE")
		w.expect(w.run("plan", "enable", "--org", "initech"), 2, "refused by the worker", "initech")
	})

	t.Run("whoami", func(t *testing.T) {
		w.t = t
		w.expect(w.run("whoami", "--profile", "carol"), 0, "Principal: arn:aws:iam::", ":user/carol (verified by STS)", "Person:    carol", "cloudtrail-admin", "claims not accepted")
		r := w.run("whoami", "--profile", "alice", "--json")
		w.expect(r, 0)
		id := decodeJSON[workflows.Identity](t, r)
		if id.Who.By != "alice" || !strings.HasSuffix(id.Who.ARN, ":user/alice") || id.Who.Claimed || id.Who.Proof != "" || !slices.Contains(id.Roles, workflows.RoleApprover) || id.Policy.RequiredApprovals != 2 {
			t.Errorf("whoami --json: %+v", id)
		}
		w.expect(w.run("whoami", "--profile", "mallory"), 2, "refused by the worker", "is not mapped to any person")
		w.expect(w.run("whoami", "--profile", "alice", "--as", "bob"), 2, "the proof is alice's", "not bob's")
		r = w.run("whoami", "--as", "dave")
		w.expect(r, 2, "no proof of identity")
		if !strings.Contains(r.stderr, "dave goes as a claim") {
			t.Errorf("a claim must be announced as one: %s", r)
		}
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
		for _, cmd := range [][]string{{"approve", "nope", "--profile", "alice"}, {"status", "nope"}, {"record", "nope"}, {"cancel", "nope", "--reason", "x", "--profile", "alice"}} {
			w.expect(w.run(cmd...), 2, "no change nope; `trailgate list` shows the changes")
		}
	})

	t.Run("a refused request ends the change at once, with the attempt on record", func(t *testing.T) {
		w.t = t
		const id = "enable-refused-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--profile", "mallory"), 2, "refused by the worker", "is not mapped to any person")
		w.expect(w.run("status", id), 1, "rejected")
		w.expect(w.run("record", id), 0, "| refused |", "request refused")
		w.expect(w.run("enable", "--org", "initech", "--change-id", id+"-org", "--profile", "dave"), 2, "refused by the worker", "initech")
		if st := w.readAWS(); st["globex"].enabled() {
			t.Fatalf("a refused request changed globex: %+v", st["globex"])
		}
	})

	const enableID = "enable-cli-test"
	t.Run("enable in two waves with refusals at the gate", func(t *testing.T) {
		w.t = t
		w.expect(w.run("enable", "--org", "acme-prod", "--org", "acme-staging", "--waves", "1,rest", "--approve-every-wave",
			"--change-id", enableID, "--reason", "CHG-1", "--profile", "dave"), 0, "Change "+enableID+" started", "requested by "+verified("dave"), ":user/dave)", "/namespaces/default/workflows/"+enableID)
		w.expect(w.run("enable", "--all", "--change-id", enableID, "--profile", "dave"), 2, "already exists")
		w.expect(w.run("status", enableID, "--watch", "--until-gate"), 0, "awaits 2 approval(s) of wave 1 from alice, bob")

		w.expect(w.run("confirm-cleanup", enableID, "--profile", "carol"), 2, "no organization awaits cleanup confirmation")
		w.expect(w.run("approve", enableID, "--profile", "dave"), 2, "dave requested this change and cannot approve it")
		w.expect(w.run("approve", enableID, "--profile", "mallory"), 2, "is not mapped to any person")
		w.expect(w.run("approve", enableID, "--profile", "alice", "--as", "bob"), 2, "the proof is alice's")
		r := w.run("approve", enableID, "--as", "alice")
		w.expect(r, 2, "no proof of identity")
		w.expect(w.run("approve", enableID, "--profile", "alice", "--comment", "CAB ok"), 0, verified("alice"), "approved change "+enableID+" (wave 1 of 2)")
		w.expect(w.run("approve", enableID, "--profile", "alice"), 2, "alice has already approved this wave")
		w.expect(w.run("approve", enableID, "--profile", "bob", "--wave", "2"), 2, "not wave 2")
		w.expect(w.run("resume", enableID, "--profile", "dave"), 2, "is not paused")
		w.expect(w.run("approve", enableID, "--profile", "bob", "--wait"), 0, verified("bob"), "awaits 2 approval(s) of wave 2")
		if st := w.readAWS(); !st["acme-prod"].enabled() || st["acme-staging"].enabled() {
			t.Fatalf("after wave 1 only acme-prod must be enabled: %v", st)
		}
		w.expect(w.run("approve", enableID, "--profile", "alice"), 0, "(wave 2 of 2)")
		w.expect(w.run("approve", enableID, "--profile", "bob", "--wait"), 0, "succeeded")

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
		w.expect(w.run("approve", enableID, "--profile", "alice"), 2, "has already ended (succeeded)")
		w.expect(w.run("pause", enableID, "--profile", "alice", "--reason", "late"), 2, "has already ended")
	})

	t.Run("status, list and record", func(t *testing.T) {
		w.t = t
		r := w.run("status", enableID, "--json")
		w.expect(r, 0)
		p := decodeJSON[workflows.ChangeProgress](t, r)
		if p.Phase != workflows.PhaseSucceeded || len(p.Waves) != 2 || p.Requester != "dave" || len(p.Waves[0].Approvals) != 2 {
			t.Errorf("status --json: %+v", p)
		}
		if !strings.HasSuffix(p.RequestedBy.ARN, ":user/dave") || p.RequestedBy.Claimed || p.Policy == nil || p.Policy.RequiredApprovals != 2 || p.Policy.AllowClaims {
			t.Errorf("status --json: requested by %+v, policy %+v", p.RequestedBy, p.Policy)
		}
		for _, d := range p.Waves[0].Approvals {
			if !strings.HasSuffix(d.ARN, ":user/"+d.By) || d.Claimed || d.Proof != "" || d.Nonce != "" {
				t.Errorf("an approval as recorded: %+v", d.Who)
			}
		}
		w.expect(w.run("status", enableID), 0, "succeeded", "acme-staging", "requested by "+verified("dave"),
			"Policy:   2 approval(s) from alice, bob; CloudTrail administrators: carol; claims not accepted")

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
		for _, want := range []string{"# Change " + enableID, "| Requested by | " + verified("dave"), "| Policy in force | 2 approval(s)",
			verified("alice"), ":user/alice): CAB ok; " + verified("bob"), "### acme-prod", "Evidence read back from AWS",
			"| approved | " + verified("alice"), "| refused | " + verified("dave"), "cannot approve it", "is not mapped to any person", "| acme-prod | mutation |"} {
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
		if !slices.ContainsFunc(rec.Entries, func(e workflows.RecordEntry) bool {
			return e.Kind == "approved" && len(e.Identities) == 1 && e.Identities[0].By == "alice" && strings.HasSuffix(e.Identities[0].ARN, ":user/alice")
		}) {
			t.Errorf("the JSON record lacks alice's approval with her verified ARN: %+v", rec.Entries)
		}
	})

	const disableID = "disable-cli-test"
	t.Run("a rejected disable exits 1 and changes nothing", func(t *testing.T) {
		w.t = t
		w.expect(w.run("disable", "--org", "acme-prod", "--change-id", disableID, "--profile", "dave"), 0)
		w.expect(w.run("status", disableID, "--watch", "--until-gate"), 0, "cleanup confirmation", "carol")
		w.expect(w.run("approve", disableID, "--profile", "alice"), 2, "not awaiting approval")
		w.expect(w.run("confirm-cleanup", disableID, "--profile", "alice"), 2, "alice is not a CloudTrail administrator")
		w.expect(w.run("reject", disableID, "--profile", "alice", "--comment", "not this week", "--wait"), 1, verified("alice"), "rejected")
		w.expect(w.run("status", disableID), 1, "rejected")
		if st := w.readAWS(); !st["acme-prod"].enabled() {
			t.Fatalf("a rejected disable must leave trusted access on: %+v", st["acme-prod"])
		}
	})

	t.Run("pause, resume and cancel", func(t *testing.T) {
		w.t = t
		const id = "enable-globex-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--profile", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits 2 approval(s)")
		w.expect(w.run("pause", id, "--profile", "dave"), 2, "--reason")
		w.expect(w.run("pause", id, "--profile", "carol", "--reason", "x"), 2, "carol may not steer")
		w.expect(w.run("pause", id, "--profile", "dave", "--reason", "freeze"), 0, verified("dave"), "paused change "+id)
		w.expect(w.run("status", id), 0, "paused by dave: freeze")
		w.expect(w.run("resume", id, "--profile", "alice"), 0, verified("alice"), "resumed change "+id)
		r := w.run("cancel", id, "--profile", "bob", "--reason", "not needed", "--wait", "--json")
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
		w.expect(w.run("disable", "--org", "acme-staging", "--change-id", stagingDisableID, "--profile", "dave"), 0)
		w.expect(w.run("status", stagingDisableID, "--watch", "--until-gate"), 0, "awaits cleanup confirmation", "carol")
		w.expect(w.run("confirm-cleanup", stagingDisableID, "--profile", "carol", "--org", "globex"), 2, "organization globex is not part of change "+stagingDisableID)
		w.expect(w.run("confirm-cleanup", stagingDisableID, "--profile", "carol", "--wait"), 0, verified("carol"),
			"the last inventory found organization trails", "--acknowledge-member-logging-stops", "awaits cleanup confirmation")
		if st := w.readAWS(); !st["acme-staging"].enabled() {
			t.Fatalf("a confirmation without acknowledgement must not disable: %+v", st["acme-staging"])
		}
		w.expect(w.run("confirm-cleanup", stagingDisableID, "--profile", "carol", "--acknowledge-member-logging-stops", "--acknowledge-delegated-administrators", "--org", "acme-staging", "--wait"), 0,
			"awaits 2 approval(s)")
		w.expect(w.run("approve", stagingDisableID, "--profile", "alice"), 0)
		w.expect(w.run("approve", stagingDisableID, "--profile", "bob", "--wait"), 0, "succeeded")
		st := w.readAWS()
		if st["acme-staging"].enabled() || len(st["acme-staging"].Trails) != 1 || !st["acme-staging"].Role {
			t.Fatalf("after the disable, trusted access is off and the trail and the role remain: %+v", st["acme-staging"])
		}
	})

	t.Run("rollback", func(t *testing.T) {
		w.t = t
		w.expect(w.run("rollback", enableID, "--profile", "dave"), 2, "a rollback re-enables trusted access after a disable")
		w.expect(w.run("rollback", stagingDisableID, "--profile", "dave", "--reason", "member accounts need their trail"), 0, stagingDisableID+"-rollback started", "requested by "+verified("dave"))
		w.expect(w.run("rollback", stagingDisableID, "--profile", "dave"), 2, "already exists")
		w.expect(w.run("status", stagingDisableID+"-rollback", "--watch", "--until-gate"), 0, "awaits 2 approval(s)")
		w.expect(w.run("approve", stagingDisableID+"-rollback", "--profile", "alice"), 0)
		r := w.run("approve", stagingDisableID+"-rollback", "--profile", "bob", "--wait", "--json")
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
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--profile", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits")
		w.expect(w.run("approve", id, "--profile", "alice"), 0)
		w.expect(w.run("approve", id, "--profile", "bob", "--wait"), 1, "ended halted", "globex: ", "AccessDenied")
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
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--window", opens+"+1h", "--profile", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits")
		w.expect(w.run("approve", id, "--profile", "alice"), 0)
		w.expect(w.run("approve", id, "--profile", "bob"), 0)
		r := w.run("status", id, "--json")
		for i := 0; i < 50 && !strings.Contains(r.stdout, `"phase": "awaiting-window"`); i++ {
			time.Sleep(100 * time.Millisecond)
			r = w.run("status", id, "--json")
		}
		if p := decodeJSON[workflows.ChangeProgress](t, r); p.Phase != workflows.PhaseAwaitingWindow || p.Awaiting == nil || p.Awaiting.Expires.UTC().Format("15:04") != opens {
			t.Fatalf("want the change awaiting the window at %s: %+v", opens, p)
		}
		w.expect(w.run("status", id), 0, "awaiting-window", "waits for the next maintenance window, which opens at")
		w.expect(w.run("cancel", id, "--profile", "dave", "--reason", "not tonight", "--wait"), 1, "cancelled")
		if st := w.readAWS(); st["globex"].enabled() {
			t.Errorf("nothing may change outside the window: %+v", st["globex"])
		}
	})

	t.Run("the CLI's own configuration does not lower the worker's bar", func(t *testing.T) {
		w.t = t
		saved := w.cfg
		w.writeConfig(func(c *config.Config) {
			c.Approvals.Required, c.Approvals.Approvers, c.Approvals.CloudTrailAdmins = 1, []string{"dave"}, []string{"dave"}
			c.Trail.Name = "requesters-own-trail"
			c.Organizations = slices.Clone(c.Organizations)
			for i := range c.Organizations {
				c.Organizations[i].RoleARN = "arn:aws:iam::" + c.Organizations[i].ManagementAccountID + ":role/RequestersOwnRole"
				c.Organizations[i].ExternalID = "requesters-own-external-id"
			}
		})
		defer w.writeConfig(func(c *config.Config) { *c = saved })
		const id = "enable-lowered-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--profile", "dave"), 0, "requested by "+verified("dave"))
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits 2 approval(s) of wave 1 from alice, bob")
		w.expect(w.run("status", id), 0, "Policy:   2 approval(s) from alice, bob; CloudTrail administrators: carol")
		w.expect(w.run("approve", id, "--profile", "dave"), 2, "dave requested this change and cannot approve it")
		w.expect(w.run("approve", id, "--profile", "alice"), 0, "approved change "+id)
		if st := w.readAWS(); st["globex"].enabled() {
			t.Fatalf("one approval enabled globex under a configuration asking for two: %+v", st["globex"])
		}
		w.expect(w.run("approve", id, "--profile", "bob", "--wait"), 0, "succeeded")
		st := w.readAWS()
		if !st["globex"].enabled() || len(st["globex"].Trails) != 1 || !strings.Contains(st["globex"].Trails[0], "/"+w.env.Config.Trail.Name+" ") {
			t.Fatalf("globex was not enabled through the worker's role with the worker's trail: %+v", st["globex"])
		}
		// The subtests after this one start from globex without trusted access.
		w.setTrustedAccess("globex", false)
	})

	t.Run("no worker", func(t *testing.T) {
		w.t = t
		const id = "enable-no-worker-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--profile", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits")
		w.env.StopWorker()
		defer w.env.StartWorker(activities.Polling{})
		decisionTimeout = 2 * time.Second
		defer func() { decisionTimeout = 30 * time.Second }()
		w.expect(w.run("approve", id, "--profile", "alice", "--wave", "1"), 1, "the worker did not answer in time", "trailgate doctor")
	})

	// A worker whose configuration accepts claims takes a name typed with
	// --as, without AWS credentials, on trust and marks it so in every
	// record; a proof still has to be the named person's.
	t.Run("claims, where the worker accepts them", func(t *testing.T) {
		w.t = t
		w.env.StopWorker()
		w.env.Config.Identity.AllowClaims = true
		w.env.StartWorker(activities.Polling{})
		w.writeConfig(func(c *config.Config) { c.Identity.AllowClaims = true })
		const id = "enable-claims-cli-test"
		r := w.run("enable", "--org", "globex", "--change-id", id, "--as", "dave")
		w.expect(r, 0, "requested by dave (claimed, not verified)")
		if !strings.Contains(r.stderr, "dave goes as a claim") {
			t.Errorf("a claim must be announced as one: %s", r)
		}
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits 2 approval(s)")
		w.expect(w.run("status", id), 0, "requested by dave (claimed, not verified)", "claims accepted")
		w.expect(w.run("approve", id, "--as", "dave"), 2, "dave requested this change and cannot approve it")
		w.expect(w.run("approve", id, "--profile", "alice", "--as", "bob"), 2, "the proof is alice's")
		w.expect(w.run("approve", id, "--as", "alice"), 0, "alice (claimed, not verified) approved change "+id)
		// Paused, the change releases nothing once approved, so that it can
		// still be cancelled below.
		w.expect(w.run("pause", id, "--as", "dave", "--reason", "hold for the claims test"), 0, "dave (claimed, not verified) paused change "+id)
		w.expect(w.run("approve", id, "--profile", "bob"), 0, verified("bob"), "approved change "+id)
		w.expect(w.run("whoami", "--as", "carol"), 0, "carol is claimed, not verified", "cloudtrail-admin")
		w.expect(w.run("doctor"), 0, "claims are accepted: decisions typed with --as are taken on trust and marked claimed, not verified")
		w.expect(w.run("record", id), 0, "| Requested by | dave (claimed, not verified) |", "alice (claimed, not verified); "+verified("bob"))
		w.expect(w.run("cancel", id, "--as", "dave", "--reason", "done testing claims", "--wait"), 1, "cancelled")
	})

	// An AWS implementation without an API trailgate calls answers
	// InvalidAction: no retry fixes that, so the change fails at once and
	// says which call and which error.
	t.Run("an API AWS does not have fails the change at once, named", func(t *testing.T) {
		w.t = t
		globex := w.env.Org("globex").ManagementAccountID
		w.aws.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "EnableAWSServiceAccess", AccountID: globex, Error: "InvalidAction", Status: 400,
			Message: "Could not find operation EnableAWSServiceAccess"}})
		defer w.aws.Sandbox.SetFaults(nil)
		const id = "enable-missing-api-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--profile", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits")
		w.expect(w.run("approve", id, "--profile", "alice"), 0)
		w.expect(w.run("approve", id, "--profile", "bob", "--wait"), 1, "halted")
		w.expect(w.run("status", id), 1, "organizations:EnableAWSServiceAccess", "InvalidAction")
		if h := w.historyOf(workflows.TargetWorkflowID(id, "globex")); !strings.Contains(h, `"activityType":{"name":"EnableTrustedAccess"}`) || retriedAttempt.MatchString(h) {
			t.Errorf("the missing API was not tried exactly once:\n%s", h)
		}
	})

	// While an AWS call is retried, status and --watch say which, the
	// attempt, the last error and when the next attempt comes.
	t.Run("a retried AWS call shows where people look", func(t *testing.T) {
		w.t = t
		globex := w.env.Org("globex").ManagementAccountID
		w.aws.Sandbox.SetFaults([]awssandbox.Fault{{Service: "organizations", Operation: "EnableAWSServiceAccess", AccountID: globex, Error: "ServiceException"}})
		const id = "enable-retried-cli-test"
		w.expect(w.run("enable", "--org", "globex", "--change-id", id, "--profile", "dave"), 0)
		w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits")
		w.expect(w.run("approve", id, "--profile", "alice"), 0)
		w.expect(w.run("approve", id, "--profile", "bob"), 0)
		var st statusJSON
		for i := 0; i < 100 && (len(st.Retrying) == 0 || st.Retrying[0].Attempt < 2); i++ {
			time.Sleep(100 * time.Millisecond)
			r := w.run("status", id, "--json")
			st = decodeJSON[statusJSON](t, r)
		}
		if len(st.Retrying) != 1 || st.Retrying[0].Call != "EnableTrustedAccess" || !strings.Contains(st.Retrying[0].LastError, "ServiceException") || st.Retrying[0].NextAttempt.IsZero() {
			t.Fatalf("status --json while AWS answers 500: retrying %+v", st.Retrying)
		}
		w.expect(w.run("status", id), 0, "Retrying", "globex  EnableTrustedAccess: attempt ", "next at ", "ServiceException")
		w.aws.Sandbox.SetFaults(nil)
		w.expect(w.run("status", id, "--watch"), 0, "retrying", "succeeded")
	})

	// Temporal's own controls, as its CLI and UI use them: a terminated
	// change reads as terminated everywhere and its record still exports; a
	// change cancelled through Temporal ends cancelled and says who asked.
	t.Run("a change terminated or cancelled through Temporal", func(t *testing.T) {
		w.t = t
		const terminated, cancelled = "disable-terminated-cli-test", "disable-cancelled-cli-test"
		for _, id := range []string{terminated, cancelled} {
			w.expect(w.run("disable", "--org", "globex", "--change-id", id, "--profile", "dave"), 0)
			w.expect(w.run("status", id, "--watch", "--until-gate"), 0, "awaits cleanup confirmation")
		}
		ctx := context.Background()
		if err := w.env.Client.TerminateWorkflow(ctx, terminated, "", "operator stopped it by hand"); err != nil {
			t.Fatal(err)
		}
		if err := w.env.Client.CancelWorkflow(ctx, cancelled, ""); err != nil {
			t.Fatal(err)
		}
		w.expect(w.run("status", terminated), 1, "terminated")
		r := w.run("status", terminated, "--json")
		if p := decodeJSON[statusJSON](t, r); p.Phase != workflows.PhaseTerminated || p.Awaiting != nil {
			t.Errorf("status --json of a terminated change: phase %s, awaiting %+v", p.Phase, p.Awaiting)
		}
		r = w.run("list", "--json")
		if !slices.ContainsFunc(decodeJSON[[]ChangeListing](t, r), func(c ChangeListing) bool {
			return c.ChangeID == terminated && c.Phase == "terminated" && c.Status == "terminated"
		}) {
			t.Errorf("list does not show %s as terminated: %s", terminated, r)
		}
		w.expect(w.run("record", terminated), 0, "| terminated |", "terminated through Temporal", "operator stopped it by hand")
		w.expect(w.run("status", cancelled, "--watch"), 1, "cancelled")
		w.expect(w.run("record", cancelled), 0, "| cancel-requested |", "cancellation requested through Temporal by ", "| cancelled |")
		if st := w.readAWS(); !st["globex"].enabled() {
			t.Errorf("a terminated or cancelled disable changed globex: %+v", st["globex"])
		}
	})
}
