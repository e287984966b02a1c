package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/workflows"
)

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
		if d, err := w.env.Client.DescribeWorkflowExecution(context.Background(), enableID, ""); err != nil || d.GetExecutionConfig().GetDefaultWorkflowTaskTimeout().AsDuration() != workflows.ChangeTaskTimeout {
			t.Errorf("the change's workflow task timeout: %v, %v; want %s", d.GetExecutionConfig().GetDefaultWorkflowTaskTimeout(), err, workflows.ChangeTaskTimeout)
		}
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
		stopped := true
		defer func() {
			if stopped {
				w.env.StartWorker(activities.Polling{})
			}
		}()
		decisionTimeout = 2 * time.Second
		defer func() { decisionTimeout = 30 * time.Second }()
		w.expect(w.run("approve", id, "--profile", "alice", "--wave", "1"), 1, "the worker did not answer in time", "trailgate doctor")
		w.expect(w.run("status", id), 1, "the worker did not answer in time")

		// Following outlasts a worker that is away, as after a crash: it
		// says so and goes on until a worker answers again.
		watched := make(chan result, 1)
		go func() { watched <- w.run("status", id, "--watch", "--until-gate") }()
		time.Sleep(3 * decisionTimeout / 2)
		w.env.StartWorker(activities.Polling{})
		stopped = false
		r := <-watched
		w.expect(r, 0, "awaits")
		if !strings.Contains(r.stderr, "did not answer in time") || !strings.Contains(r.stderr, "(still following)") {
			t.Errorf("following did not say that the worker was silent: %s", r)
		}
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
		if h := w.historyOf(workflows.TargetWorkflowID(id, "globex")); !strings.Contains(h, `"activityType":{"name":"ApplyMutations"}`) || retriedAttempt.MatchString(h) {
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
		if len(st.Retrying) != 1 || st.Retrying[0].Call != "ApplyMutations (enable-trusted-access)" || !strings.Contains(st.Retrying[0].LastError, "ServiceException") || st.Retrying[0].NextAttempt.IsZero() {
			w.aws.Sandbox.SetFaults(nil)
			t.Fatalf("status --json while AWS answers 500: retrying %+v", st.Retrying)
		}
		w.expect(w.run("status", id), 0, "Retrying", "globex  ApplyMutations (enable-trusted-access): attempt ", "next at ", "ServiceException")
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
