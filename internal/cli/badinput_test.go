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

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// badInput is one wrong thing handed to trailgate and the refusal it must
// get back.
type badInput struct {
	// kind is where the input comes from: a configuration file, the CLI's
	// flags and arguments, a decision at a gate, or a payload sent straight
	// to Temporal.
	kind inputKind
	name string
	// send hands trailgate the input and returns what came back: the CLI's
	// standard error (the command must exit with status 2), or the error
	// Temporal or the worker answered.
	send func() string
	// says is the refusal, word for word (without the file path or the
	// workflow IDs around it).
	says string
	// started is the workflow the input started, when Temporal could not
	// refuse it: the worker must end it at once, as failed, having started
	// nothing else.
	started string
}

// inputKind is where bad input comes from.
type inputKind string

// The kinds of bad input.
const (
	fromConfig   inputKind = "configuration"
	fromFlags    inputKind = "flags and arguments"
	atGate       inputKind = "gate"
	fromTemporal inputKind = "straight to Temporal"
)

// Bad input, counted: every way a person or a program can hand trailgate
// something wrong (a configuration file, the CLI's flags and arguments, a
// decision at a gate, a payload sent straight to Temporal as `temporal
// workflow start` and `temporal workflow update` would) is refused with its
// own message, and nothing changes: AWS reads the same, Temporal runs no
// new workflow (or only the refused one, ended at once), and the changes
// waiting at their gates keep their phase and approvals.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Temporal's server, the AWS sandbox and a worker")
	}
	followEvery = 100 * time.Millisecond
	w := startWorld(t)
	ctx := context.Background()

	// Two changes wait at their gates: an enable of globex that alice has
	// approved once, and a disable of acme-staging (trusted access turned on
	// by hand) that waits for the CloudTrail administrator.
	const enableGate, disableGate = "bad-input-enable", "bad-input-disable"
	w.expect(w.run("enable", "--org", "globex", "--change-id", enableGate, "--profile", "dave"), 0)
	w.expect(w.run("status", enableGate, "--watch", "--until-gate"), 0, "awaits 2 approval(s)")
	w.expect(w.run("approve", enableGate, "--profile", "alice"), 0)
	w.setTrustedAccess("acme-staging", true)
	w.expect(w.run("disable", "--org", "acme-staging", "--change-id", disableGate, "--profile", "dave"), 0)
	w.expect(w.run("status", disableGate, "--watch", "--until-gate"), 0, "awaits cleanup confirmation")

	long := strings.Repeat("x", 10000)
	const escape = "CHG-1\x1b[2J\x1b]0;approved\x07"
	cli := func(args ...string) func() string {
		return func() string {
			r := w.run(args...)
			if r.code != ExitUsage {
				w.t.Errorf("want exit status %d, got %s", ExitUsage, r)
			}
			return r.stderr
		}
	}
	// withConfig runs the CLI with the world's configuration changed: by
	// edit, then, in its YAML, old replaced by new.
	withConfig := func(edit func(*config.Config), old, new string, args ...string) func() string {
		return func() string {
			c := w.cfg
			c.Organizations = slices.Clone(c.Organizations)
			c.People = slices.Clone(c.People)
			if edit != nil {
				edit(&c)
			}
			path := filepath.Join(w.t.TempDir(), "trailgate.yaml")
			if err := config.WriteFile(path, c); err != nil {
				w.t.Fatal(err)
			}
			text, err := os.ReadFile(path)
			if err != nil {
				w.t.Fatal(err)
			}
			if old != "" {
				if !strings.Contains(string(text), old) {
					w.t.Fatalf("the configuration has no %q:\n%s", old, text)
				}
				text = []byte(strings.Replace(string(text), old, new, 1))
			}
			if err := os.WriteFile(path, text, 0o600); err != nil {
				w.t.Fatal(err)
			}
			return cli(append([]string{"--config", path}, args...)...)()
		}
	}
	enable := []string{"enable", "--org", "globex", "--profile", "dave"}
	yaml := func(old, new string) func() string { return withConfig(nil, old, new, enable...) }
	edited := func(edit func(*config.Config)) func() string { return withConfig(edit, "", "", enable...) }

	start := func(id, workflowType string, args ...any) func() string {
		return func() string {
			run, err := w.env.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: w.cfg.Temporal.TaskQueue}, workflowType, args...)
			if err != nil {
				return err.Error()
			}
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			return fmt.Sprint(run.Get(rctx, nil))
		}
	}
	update := func(id, name string, arg any) func() string {
		return func() string {
			uctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			h, err := w.env.Client.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
				WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err == nil {
				err = h.Get(uctx, nil)
			}
			return fmt.Sprint(err)
		}
	}
	// request is a change input that dave proves, changed by edit after
	// his proof when after is set.
	request := func(id string, edit func(*workflows.ChangeInput), after bool) workflows.ChangeInput {
		in := workflows.ChangeInput{ChangeID: id, Action: workflows.ActionEnable, Organizations: []string{"globex"}}
		if !after {
			edit(&in)
		}
		in = w.env.Request(w.t, "dave", in)
		if after {
			edit(&in)
		}
		return in
	}
	proven := func(id string, edit func(*workflows.ChangeInput)) func() string {
		return func() string { return start(id, workflows.ChangeWorkflowName, request(id, edit, false))() }
	}
	// approval is bob's proven approval of the enable's wave, changed by
	// edit after the proof.
	approval := func(edit func(*workflows.Decision)) workflows.Decision {
		d := workflows.Decision{Wave: 1, Who: workflows.Who{Nonce: testenv.Nonce()}}
		d.Who = w.env.Prove(w.t, "bob", d.Binding(enableGate, workflows.DecisionApprove))
		edit(&d)
		return d
	}
	// carried is a change input that carries progress and a resolution as
	// if the change had continued as new: a policy that needs no approval,
	// and, unless broken, a wave that is consistent with them.
	carried := func(id string, broken bool) workflows.ChangeInput {
		in := workflows.ChangeInput{ChangeID: id, Action: workflows.ActionEnable, Organizations: []string{"globex"}, Carried: &workflows.Carried{
			Progress: workflows.ChangeProgress{ChangeID: id, Action: workflows.ActionEnable, Phase: workflows.PhasePending, CurrentWave: 1, Requester: "mallory",
				Waves:   []workflows.WaveProgress{{Number: 1, Organizations: []string{"globex"}, Phase: workflows.PhasePending}},
				Targets: []workflows.TargetSummary{{Organization: "globex", WorkflowID: workflows.TargetWorkflowID(id, "globex"), Wave: 1, Phase: workflows.PhasePending}}},
			Resolution: activities.Resolution{
				Organizations: []activities.OrgInput{{Organization: "globex", ManagementAccountID: w.env.Org("globex").ManagementAccountID,
					Trail: activities.TrailSettings{Name: "elsewhere", Bucket: "mallorys-bucket"}}},
				Policy: activities.Policy{AllowClaims: true, Timeout: time.Hour, ReminderEvery: time.Hour},
			},
		}}
		if broken {
			in.Carried.Progress.Targets = nil
		}
		return in
	}
	raw := func(json string) converter.RawValue {
		return converter.NewRawValue(&commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)}, Data: []byte(json)})
	}

	cases := []badInput{
		// Configuration: each file is the world's own with one thing wrong.
		{kind: fromConfig, name: "an unknown key", send: yaml("\npeople:", "\norganisations: []\npeople:"),
			says: `unknown key "organisations" (did you mean "organizations"?); remove it or fix its spelling`},
		{kind: fromConfig, name: "an unknown key in a section", send: yaml("\n  namespace:", "\n  adress: 127.0.0.1:7233\n  namespace:"),
			says: `unknown key "temporal.adress" (did you mean "temporal.address"?); remove it or fix its spelling`},
		{kind: fromConfig, name: "an unknown key in an organization", send: yaml("  - name: globex\n", "  - name: globex\n    role: arn:aws:iam::333333333333:role/Elsewhere\n"),
			says: `unknown key "role" in organizations[2]; an entry has name, management_account_id, role_arn, external_id`},
		{kind: fromConfig, name: "a word where a number goes", send: yaml("  required: 2\n", "  required: two\n"),
			says: `approvals.required is "two", not a whole number; write it in digits, such as 2`},
		{kind: fromConfig, name: "a word where a duration goes", send: yaml("  timeout: 168h0m0s\n", "  timeout: forever\n"),
			says: `approvals.timeout is "forever", not a duration; write it with its unit, such as "168h" or "30m"`},
		{kind: fromConfig, name: "a single value where a section goes", send: yaml("\nmetrics: {}\n", "\nmetrics: 127.0.0.1:9090\n"),
			says: `"metrics" must hold keys (for example address); it holds a single value`},
		{kind: fromConfig, name: "not YAML", send: yaml("\npeople:", "\npeople: [\n"),
			says: "did not find expected node content); fix the syntax"},
		{kind: fromConfig, name: "an account ID written as a number", send: edited(func(c *config.Config) { c.Organizations[2].ManagementAccountID = "33333333333" }),
			says: `organizations[2] (globex): management_account_id "33333333333" is not a 12-digit AWS account ID; write all 12 digits in quotes, such as "012345678901", so that leading zeros are kept`},
		{kind: fromConfig, name: "a role ARN that is not one", send: edited(func(c *config.Config) { c.Organizations[2].RoleARN = "arn:aws:iam::333333333333:user/Operator" }),
			says: `organizations[2] (globex): role_arn "arn:aws:iam::333333333333:user/Operator" is not an IAM role ARN; write it like arn:aws:iam::123456789012:role/TrailgateAccess`},
		{kind: fromConfig, name: "an organization name with a slash", send: edited(func(c *config.Config) { c.Organizations[2].Name = "globex/eu" }),
			says: `organizations[2] (globex/eu): name "globex/eu" cannot name workflows; use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{kind: fromConfig, name: "two organizations of one name", send: edited(func(c *config.Config) { c.Organizations[1].Name = c.Organizations[0].Name }),
			says: `name "acme-prod" is already used by organizations[0]; give each organization its own name`},
		{kind: fromConfig, name: "a person's principal in any account", send: edited(func(c *config.Config) {
			c.People[0] = config.Person{Name: c.People[0].Name, Principals: []string{"arn:aws:iam::*:user/alice"}}
		}), says: `people[0] (alice): principal "arn:aws:iam::*:user/alice" is not an IAM or STS ARN; write it like arn:aws:iam::111122223333:user/alice or arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_*/* (the account is always written out: a * there would match anyone's account)`},
		{kind: fromConfig, name: "a person's principal that is not an ARN", send: edited(func(c *config.Config) {
			c.People[0] = config.Person{Name: c.People[0].Name, Principals: []string{"alice"}}
		}), says: `people[0] (alice): principal "alice" is not an IAM or STS ARN`},
		{kind: fromConfig, name: "a person without principals", send: edited(func(c *config.Config) { c.People[0] = config.Person{Name: c.People[0].Name} }),
			says: "people[0] (alice): principals is empty, so nobody can prove to be this person; list the AWS principals that prove them, such as arn:aws:iam::111122223333:user/alice"},
		{kind: fromConfig, name: "an approver who is not among people", send: edited(func(c *config.Config) { c.Approvals.Approvers = []string{"alice", "mallory"} }),
			says: "approvals.approvers names mallory, who is not among people; add mallory to people with the AWS principals that prove them, or remove mallory from approvals.approvers"},
		{kind: fromConfig, name: "a worker key that is not one", send: edited(func(c *config.Config) { c.Identity.WorkerKey = "not-a-key" }),
			says: "identity.worker_key does not start with tgk1:, so it is not a worker key; set it to what trailgate-worker --print-proof-key prints, or leave it empty"},
		{kind: fromConfig, name: "a worker key of garbage", send: edited(func(c *config.Config) { c.Identity.WorkerKey = "tgk1:garbage" }),
			says: `trailgate: identity.worker_key is not a key the worker made (the worker key "tgk1:garbage" is not tgk1: followed by 32 bytes in unpadded base64url: copy identity.worker_key from what trailgate-worker --print-proof-key prints): ask an operator for the worker's public key (trailgate-worker --print-proof-key)`},
		{kind: fromConfig, name: "a Temporal address without a port", send: edited(func(c *config.Config) { c.Temporal.Address = "localhost" }),
			says: `temporal.address "localhost" is not host:port; set the Temporal frontend as host:port, such as 127.0.0.1:7233`},
		{kind: fromConfig, name: "a log level that is not one", send: edited(func(c *config.Config) { c.Log.Level = "loud" }),
			says: `log.level "loud" is not a log level; use debug, info, warn or error`},
		{kind: fromConfig, name: "no such file", send: cli("--config", filepath.Join(t.TempDir(), "missing.yaml"), "enable", "--org", "globex", "--profile", "dave"),
			says: "missing.yaml: no such file; give the path of an existing configuration file"},

		// The CLI's flags and arguments.
		{kind: fromFlags, name: "--org and --all", send: cli("enable", "--org", "globex", "--all", "--profile", "dave"), says: "trailgate: give --org or --all, not both"},
		{kind: fromFlags, name: "an empty --org", send: cli("enable", "--org", "", "--profile", "dave"), says: "trailgate: --org is given an empty name"},
		{kind: fromFlags, name: "an --org with control characters", send: cli("enable", "--org", "globex\x1b[2J", "--profile", "dave"),
			says: `trailgate: invalid change: organization name "globex\x1b[2J" holds control characters; name an organization of the worker's configuration`},
		{kind: fromFlags, name: "an --org twice", send: cli("enable", "--org", "globex", "--org", "globex", "--profile", "dave"), says: "trailgate: --org globex is given twice"},
		{kind: fromFlags, name: "a change ID with spaces", send: cli("enable", "--org", "globex", "--change-id", "my change", "--profile", "dave"),
			says: `trailgate: change ID "my change" is not valid: use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{kind: fromFlags, name: "a change ID of 101 characters", send: cli("enable", "--org", "globex", "--change-id", strings.Repeat("c", 101), "--profile", "dave"),
			says: `" is not valid: use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{kind: fromFlags, name: "a wave of none", send: cli("enable", "--org", "globex", "--waves", "0", "--profile", "dave"),
			says: `trailgate: --waves: wave "0": write a count (1), a share (25%) or rest`},
		{kind: fromFlags, name: "a wave of 150%", send: cli("enable", "--org", "globex", "--waves", "150%", "--profile", "dave"),
			says: `trailgate: --waves: wave "150%": a share is 1% to 100%`},
		{kind: fromFlags, name: "a negative concurrency", send: cli("enable", "--org", "globex", "--concurrency", "-1", "--profile", "dave"),
			says: "trailgate: --concurrency must be 0 (all of a wave at once) or more"},
		{kind: fromFlags, name: "a negative failure budget", send: cli("enable", "--org", "globex", "--failure-budget", "-1", "--profile", "dave"),
			says: "trailgate: --failure-budget must be 0 (halt at the first failure) or more"},
		{kind: fromFlags, name: "a window at 25:00", send: cli("enable", "--org", "globex", "--window", "25:00+1h", "--profile", "dave"),
			says: `trailgate: --window: maintenance window start "25:00": write HH:MM in UTC`},
		{kind: fromFlags, name: "a window of no time", send: cli("enable", "--org", "globex", "--window", "mon 02:00+0s", "--profile", "dave"),
			says: "trailgate: --window: maintenance window at 02:00: the duration must be between 1m and 24h"},
		{kind: fromFlags, name: "a reason of 10,000 characters", send: cli("enable", "--org", "globex", "--reason", long, "--profile", "dave"),
			says: "trailgate: invalid change: the reason is 10000 characters long; keep it under 2000"},
		{kind: fromFlags, name: "a reason with control characters", send: cli("enable", "--org", "globex", "--reason", escape, "--profile", "dave"),
			says: "trailgate: invalid change: the reason holds control characters; write plain text"},
		{kind: fromFlags, name: "a profile name with a space", send: cli("enable", "--org", "globex", "--profile", "da ve"),
			says: `trailgate: --profile "da ve": a profile name has no spaces`},
		{kind: fromFlags, name: "a name with a space", send: cli("enable", "--org", "globex", "--profile", "dave", "--as", "dave smith"),
			says: `trailgate: --as "dave smith": a person's name has no spaces`},
		{kind: fromFlags, name: "an organization the worker does not know", send: cli("enable", "--org", "initech", "--change-id", "bad-input-initech", "--profile", "dave"),
			says: "trailgate: refused by the worker: change bad-input-initech: the worker's configuration has no organization initech (known: acme-prod, acme-staging, globex); the worker decides which organizations exist: name known ones, or add them to the worker's configuration", started: "bad-input-initech"},
		{kind: fromFlags, name: "a requester nobody is", send: cli("enable", "--org", "globex", "--change-id", "bad-input-mallory", "--profile", "mallory"),
			says: ":user/mallory is not mapped to any person in the worker's configuration (people:); ask an operator to add it, or sign with the credentials of a person who is", started: "bad-input-mallory"},
		{kind: fromFlags, name: "a misspelt command", send: cli("enabel", "--org", "globex"), says: `trailgate: unknown command "enabel" for "trailgate"`},
		{kind: fromFlags, name: "an unknown flag", send: cli("enable", "--org", "globex", "--force"), says: "trailgate: unknown flag: --force"},
		{kind: fromFlags, name: "a decision without a change", send: cli("approve", "--profile", "bob"),
			says: "trailgate: trailgate approve takes one change ID (got 0 arguments); `trailgate list` shows the changes"},
		{kind: fromFlags, name: "a decision on two changes", send: cli("reject", enableGate, disableGate, "--profile", "bob"),
			says: "trailgate: trailgate reject takes one change ID (got 2 arguments)"},
		{kind: fromFlags, name: "a change ID that is a path", send: cli("cancel", "../"+enableGate, "--reason", "x", "--profile", "dave"),
			says: `trailgate: change ID "../bad-input-enable" is not valid`},
		{kind: fromFlags, name: "a negative wave", send: cli("approve", enableGate, "--wave", "-1", "--profile", "bob"),
			says: "trailgate: --wave is a wave number, 1 or more (0: the wave awaiting a decision)"},
		{kind: fromFlags, name: "a wave that is not a number", send: cli("approve", enableGate, "--wave", "one", "--profile", "bob"),
			says: `trailgate: invalid argument "one" for "--wave" flag: strconv.ParseInt: parsing "one": invalid syntax`},
		{kind: fromFlags, name: "a change that does not exist", send: cli("approve", "no-such-change", "--profile", "bob"),
			says: "trailgate: no change no-such-change; `trailgate list` shows the changes"},
		{kind: fromFlags, name: "a pause without a reason", send: cli("pause", enableGate, "--profile", "dave"),
			says: "trailgate: say why with --reason: the reason to pause goes into the change record"},
		{kind: fromFlags, name: "a plan of a rollout", send: cli("plan", "rollout", "--all"),
			says: "trailgate: plan what? write `trailgate plan enable` or `trailgate plan disable`, not \"rollout\""},
		{kind: fromFlags, name: "--until-gate without --watch", send: cli("status", enableGate, "--until-gate"), says: "trailgate: --until-gate goes with --watch"},
		{kind: fromFlags, name: "a record as PDF", send: cli("record", enableGate, "--format", "pdf"), says: `trailgate: --format "pdf": use json or markdown`},
		{kind: fromFlags, name: "a negative list limit", send: cli("list", "--limit", "-1"), says: "trailgate: --limit must be 1 or more (0: 100)"},
		{kind: fromFlags, name: "whoami with a profile name with a space", send: cli("whoami", "--profile", "car ol"), says: `trailgate: --profile "car ol": a profile name has no spaces`},
		{kind: fromFlags, name: "a rollback of an enable", send: cli("rollback", enableGate, "--profile", "dave"), says: "trailgate: change bad-input-enable was enable, not disable: a rollback re-enables trusted access after a disable; to undo an enable, start `trailgate disable`"},
		{kind: fromFlags, name: "a decision on an ended change", send: cli("approve", "bad-input-mallory", "--profile", "bob"), says: "trailgate: change bad-input-mallory has already ended (rejected): there is nothing to approve; `trailgate status bad-input-mallory` shows how it ended"},

		// Decisions at the gates, through the CLI and straight through Temporal.
		{kind: atGate, name: "the wrong wave", send: cli("approve", enableGate, "--wave", "2", "--profile", "bob"),
			says: "change bad-input-enable is at wave 1, not wave 2"},
		{kind: atGate, name: "an approver named twice", send: cli("approve", enableGate, "--profile", "alice"),
			says: "alice has already approved this wave: another approver must"},
		{kind: atGate, name: "a cleanup confirmation for an unknown organization", send: cli("confirm-cleanup", disableGate, "--org", "initech", "--profile", "carol"),
			says: "organization initech is not part of change bad-input-disable"},
		{kind: atGate, name: "a cleanup confirmation where none is awaited", send: cli("confirm-cleanup", enableGate, "--profile", "carol"),
			says: "change bad-input-enable is awaiting-approval: no organization awaits cleanup confirmation"},
		{kind: atGate, name: "an approval before cleanup", send: cli("approve", disableGate, "--profile", "alice"),
			says: "change bad-input-disable is awaiting-cleanup, not awaiting approval"},
		{kind: atGate, name: "an empty name without proof", send: update(enableGate, workflows.UpdateApprove, workflows.Decision{Wave: 1}),
			says: "no proof of identity: change bad-input-enable accepts decisions only with a proof signed by the person's AWS credentials (the trailgate CLI makes one; see --profile)"},
		{kind: atGate, name: "a wave of the wrong type", send: update(enableGate, workflows.UpdateApprove, raw(`{"by":"bob","wave":"one"}`)),
			says: `unable to decode the input for update "approve": payload item 0: unable to decode: json: cannot unmarshal string into Go struct field Decision.wave of type int`},
		{kind: atGate, name: "a decision that is not JSON", send: update(enableGate, workflows.UpdateApprove, raw(`{"by":`)),
			says: `unable to decode the input for update "approve": payload item 0: unable to decode: unexpected end of JSON input`},
		{kind: atGate, name: "an update no change has", send: update(enableGate, "approve-all", workflows.Decision{Wave: 1}),
			says: "unknown update approve-all. KnownUpdates=["},
		{kind: atGate, name: "a proven decision without its wave", send: func() string {
			return update(enableGate, workflows.UpdateApprove, approval(func(d *workflows.Decision) { d.Wave = 0 }))()
		}, says: "a proven decision names its wave: change bad-input-enable awaits wave 1"},
		{kind: atGate, name: "a proof without its nonce", send: func() string {
			return update(enableGate, workflows.UpdateApprove, approval(func(d *workflows.Decision) { d.Nonce = "" }))()
		}, says: "the proof has no nonce: a proof is made for one decision, with a nonce of its own"},
		{kind: atGate, name: "a negative wave straight", send: update(enableGate, workflows.UpdateApprove, workflows.Decision{Wave: -1}),
			says: "change bad-input-enable is at wave 1, not wave -1"},

		// Payloads sent straight to Temporal, as `temporal workflow start` would.
		{kind: fromTemporal, name: "a change that is not JSON", send: start("bad-input-json", workflows.ChangeWorkflowName, raw(`{"change_id":`)), started: "bad-input-json",
			says: "unable to decode the workflow function input payload with error: payload item 0: unable to decode: unexpected end of JSON input, function name: trailgate.Change"},
		{kind: fromTemporal, name: "organizations as objects", started: "bad-input-objects",
			send: start("bad-input-objects", workflows.ChangeWorkflowName, raw(`{"change_id":"bad-input-objects","action":"enable","organizations":[{"name":"globex"}]}`)),
			says: "unable to decode the workflow function input payload with error: payload item 0: unable to decode: json: cannot unmarshal object into Go struct field ChangeInput.organizations of type string, function name: trailgate.Change"},
		{kind: fromTemporal, name: "an action that is a number", started: "bad-input-action-5",
			send: start("bad-input-action-5", workflows.ChangeWorkflowName, raw(`{"change_id":"bad-input-action-5","action":5,"organizations":["globex"]}`)),
			says: "unable to decode the workflow function input payload with error: payload item 0: unable to decode: json: cannot unmarshal number into Go struct field ChangeInput.action of type workflows.Action, function name: trailgate.Change"},
		{kind: fromTemporal, name: "no input at all", send: start("bad-input-none", workflows.ChangeWorkflowName), started: "bad-input-none",
			says: `invalid change: change ID "" is not valid: use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit; unknown action "": use enable, disable or rollback; no organizations: name some with --org, or use --all`},
		{kind: fromTemporal, name: "an unknown action", started: "bad-input-destroy",
			send: proven("bad-input-destroy", func(in *workflows.ChangeInput) { in.Action = "destroy" }),
			says: `invalid change: unknown action "destroy": use enable, disable or rollback`},
		{kind: fromTemporal, name: "an unknown organization", started: "bad-input-unknown",
			send: proven("bad-input-unknown", func(in *workflows.ChangeInput) { in.Organizations = []string{"globex", "initech"} }),
			says: "the worker's configuration has no organization initech (known: acme-prod, acme-staging, globex); the worker decides which organizations exist: name known ones, or add them to the worker's configuration"},
		{kind: fromTemporal, name: "an empty organization name", started: "bad-input-empty-org",
			send: proven("bad-input-empty-org", func(in *workflows.ChangeInput) { in.Organizations = []string{"globex", ""} }),
			says: "invalid change: an organization name is empty"},
		{kind: fromTemporal, name: "an organization name with control characters", started: "bad-input-org-escape",
			send: proven("bad-input-org-escape", func(in *workflows.ChangeInput) { in.Organizations = []string{"globex\x1b[2J"} }),
			says: `invalid change: organization name "globex\x1b[2J" holds control characters; name an organization of the worker's configuration`},
		{kind: fromTemporal, name: "an organization name of 10,000 characters", started: "bad-input-org-long",
			send: proven("bad-input-org-long", func(in *workflows.ChangeInput) { in.Organizations = []string{long} }),
			says: "invalid change: an organization name is 10000 characters long; the worker's configuration names organizations in at most 64"},
		{kind: fromTemporal, name: "an organization named twice", started: "bad-input-twice",
			send: proven("bad-input-twice", func(in *workflows.ChangeInput) { in.Organizations = []string{"globex", "globex"} }),
			says: "invalid change: organization globex is named twice"},
		{kind: fromTemporal, name: "a reason of 10,000 characters", started: "bad-input-long",
			send: proven("bad-input-long", func(in *workflows.ChangeInput) { in.Reason = long }),
			says: "invalid change: the reason is 10000 characters long; keep it under 2000"},
		{kind: fromTemporal, name: "a reason with control characters", started: "bad-input-escape",
			send: proven("bad-input-escape", func(in *workflows.ChangeInput) { in.Reason = escape }),
			says: "invalid change: the reason holds control characters; write plain text"},
		{kind: fromTemporal, name: "the rest before the last wave", started: "bad-input-waves",
			send: proven("bad-input-waves", func(in *workflows.ChangeInput) { in.Waves = []string{"rest", "1"} }),
			says: `invalid change: wave "rest" must be the last wave`},
		{kind: fromTemporal, name: "a negative concurrency", started: "bad-input-concurrency",
			send: proven("bad-input-concurrency", func(in *workflows.ChangeInput) { in.Concurrency = -1 }),
			says: "invalid change: concurrency must be 0 (all at once) or more"},
		{kind: fromTemporal, name: "a change with no proof", started: "bad-input-no-proof",
			send: start("bad-input-no-proof", workflows.ChangeWorkflowName, workflows.ChangeInput{ChangeID: "bad-input-no-proof", Action: workflows.ActionEnable, Organizations: []string{"globex"}, Requester: workflows.Who{By: "alice"}}),
			says: "no proof of identity: the worker accepts decisions only with a proof signed by your AWS credentials (the trailgate CLI makes one; see --profile)"},
		{kind: fromTemporal, name: "a proof of another request", started: "bad-input-tampered",
			send: func() string {
				in := request("bad-input-tampered", func(in *workflows.ChangeInput) { in.Organizations = []string{"acme-prod"} }, true)
				return start(in.ChangeID, workflows.ChangeWorkflowName, in)()
			},
			says: "the proof was made for another request: its organizations, waves, windows, limits or reason differ: a proof works only for the decision it was made for; run the command again"},
		{kind: fromTemporal, name: "a change with no proof that carries its own progress", started: "bad-input-carried",
			send: start("bad-input-carried", workflows.ChangeWorkflowName, carried("bad-input-carried", false)),
			says: "invalid change: carried is set only by a change continuing as new; a request carries no progress, resolution or spent proofs: leave it out (trailgate enable and disable do)"},
		{kind: fromTemporal, name: "a change that carries progress that does not hold together", started: "bad-input-carried-broken",
			send: start("bad-input-carried-broken", workflows.ChangeWorkflowName, carried("bad-input-carried-broken", true)),
			says: "invalid change: carried is set only by a change continuing as new; a request carries no progress, resolution or spent proofs: leave it out (trailgate enable and disable do)"},
		{kind: fromTemporal, name: "a target started on its own, then released", started: "bad-input-target/globex",
			send: func() string {
				run, err := w.env.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bad-input-target/globex", TaskQueue: w.cfg.Temporal.TaskQueue}, workflows.TargetWorkflowName, workflows.TargetInput{
					ChangeID: "bad-input-target", Action: workflows.ActionEnable, Requester: "mallory", ParentWorkflowID: "bad-input-target",
					Organization: activities.OrgInput{Organization: "globex", ManagementAccountID: w.env.Org("globex").ManagementAccountID,
						Trail: activities.TrailSettings{Name: "elsewhere", Bucket: "mallorys-bucket"}},
				})
				if err != nil {
					return err.Error()
				}
				// Whether the target has ended or waits for its release, the
				// release is sent as a change would send it.
				_ = w.env.Client.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalParentDecision, workflows.ParentDecision{Kind: workflows.ParentRelease, People: []workflows.Who{{By: "alice"}, {By: "bob"}}})
				rctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				return fmt.Sprint(run.Get(rctx, nil))
			},
			says: "invalid target input: a target runs only as the child of the change that holds its gates (bad-input-target), never started on its own: start a change (trailgate enable or disable)"},
		{kind: fromTemporal, name: "a plan of an unknown action", started: "bad-input-plan",
			send: start("bad-input-plan", workflows.PlanWorkflowName, workflows.PlanInput{Action: "destroy", Organizations: []string{"globex"}}),
			says: `unknown action "destroy": use enable, disable or rollback`},
		{kind: fromTemporal, name: "an identity of garbage", started: "bad-input-identify",
			send: start("bad-input-identify", workflows.IdentifyWorkflowName, workflows.IdentifyInput{Who: workflows.Who{Proof: "tgp1:garbage", Nonce: "n"}}),
			says: "the proof was refused: the proof is not tgp1: followed by unpadded base64url: run the command again with trailgate"},
	}

	// Text people type at a gate is refused when it is 10,000 characters
	// long, and when it holds control characters.
	for _, c := range []struct {
		name, refused string
		args          []string
	}{
		{"an approval's comment", "invalid decision: the comment", []string{"approve", enableGate, "--profile", "bob", "--comment"}},
		{"a rejection's comment", "invalid decision: the comment", []string{"reject", enableGate, "--profile", "bob", "--comment"}},
		{"a cleanup confirmation", "invalid confirmation: the comment", []string{"confirm-cleanup", disableGate, "--profile", "carol", "--comment"}},
		{"a pause", "invalid pause: the reason", []string{"pause", enableGate, "--profile", "dave", "--reason"}},
		{"a cancel", "invalid cancel: the reason", []string{"cancel", enableGate, "--profile", "dave", "--reason"}},
	} {
		cases = append(cases,
			badInput{kind: atGate, name: c.name + " of 10,000 characters", send: cli(append(slices.Clone(c.args), long)...), says: c.refused + " is 10000 characters long; keep it under 2000"},
			badInput{kind: atGate, name: c.name + " with control characters", send: cli(append(slices.Clone(c.args), escape)...), says: c.refused + " holds control characters; write plain text"})
	}

	counts := map[inputKind]int{}
	for _, c := range cases {
		t.Run(string(c.kind)+"/"+c.name, func(t *testing.T) {
			w.t = t
			before := w.snapshot(enableGate, disableGate)
			got := c.send()
			t.Logf("refused: %s", got)
			if !strings.Contains(got, c.says) {
				t.Errorf("want the refusal to say %q, got:\n%s", c.says, got)
			}
			after := w.snapshot(enableGate, disableGate)
			if c.started != "" {
				w.refusedAtOnce(c.started)
				after.workflows = slices.DeleteFunc(after.workflows, func(id string) bool { return id == c.started })
			}
			if diff := before.diff(after); diff != "" {
				t.Errorf("the bad input changed something:\n%s", diff)
			}
			if c.started != "" {
				// Listed before the next case looks: Temporal lists
				// workflows a moment after they start.
				w.awaitListed(c.started)
			}
			if !t.Failed() {
				counts[c.kind]++
			}
		})
	}
	w.t = t
	total := 0
	var parts []string
	for _, kind := range []inputKind{fromConfig, fromFlags, atGate, fromTemporal} {
		total += counts[kind]
		parts = append(parts, fmt.Sprintf("%d %s", counts[kind], kind))
	}
	if total != len(cases) {
		t.Fatalf("bad inputs: %d of %d refused with their message and nothing changed (%s)", total, len(cases), strings.Join(parts, ", "))
	}
	t.Logf("bad inputs: %d refused, each with its message, nothing changed (%s)", total, strings.Join(parts, ", "))
}

// worldState is what a bad input must leave as it was: AWS, the workflows
// Temporal knows, and the progress of the changes waiting at their gates.
type worldState struct {
	aws       awsState
	workflows []string
	gates     []string
}

func (w *world) snapshot(gates ...string) worldState {
	w.t.Helper()
	s := worldState{aws: w.readAWS()}
	resp, err := w.env.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: w.cfg.Temporal.Namespace, PageSize: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range resp.Executions {
		s.workflows = append(s.workflows, e.Execution.WorkflowId)
	}
	slices.Sort(s.workflows)
	for _, id := range gates {
		p, err := changes{client: w.env.Client}.query(context.Background(), id)
		if err != nil {
			w.t.Fatalf("progress of %s: %v", id, err)
		}
		g := fmt.Sprintf("%s: %s at wave %d, paused %v", id, p.Phase, p.CurrentWave, p.Paused != nil)
		for _, wave := range p.Waves {
			var by []string
			for _, d := range wave.Approvals {
				by = append(by, d.By)
			}
			g += fmt.Sprintf("; wave %d %s approved by %v", wave.Number, wave.Phase, by)
		}
		for _, tg := range p.Targets {
			g += fmt.Sprintf("; %s %s", tg.Organization, tg.Phase)
		}
		s.gates = append(s.gates, g)
	}
	return s
}

func (s worldState) diff(after worldState) string {
	var d []string
	if b, a := fmt.Sprint(s.aws), fmt.Sprint(after.aws); b != a {
		d = append(d, "AWS before: "+b, "AWS after:  "+a)
	}
	if b, a := strings.Join(s.workflows, " "), strings.Join(after.workflows, " "); b != a {
		d = append(d, "workflows before: "+b, "workflows after:  "+a)
	}
	for i := range s.gates {
		if s.gates[i] != after.gates[i] {
			d = append(d, "gate before: "+s.gates[i], "gate after:  "+after.gates[i])
		}
	}
	return strings.Join(d, "\n")
}

// refusedAtOnce checks that a workflow that a bad input started has ended
// as failed, after one workflow task, and started no child and no AWS
// mutation on its way.
// awaitListed waits until Temporal lists the workflow id.
func (w *world) awaitListed(id string) {
	w.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n, err := w.env.Client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: w.cfg.Temporal.Namespace, Query: fmt.Sprintf("WorkflowId = %q", id),
		})
		if err == nil && n.GetCount() > 0 {
			return
		}
	}
	w.t.Fatalf("Temporal does not list %s 30 s after it started", id)
}

func (w *world) refusedAtOnce(id string) {
	w.t.Helper()
	ctx := context.Background()
	d, err := w.env.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		w.t.Fatalf("describe %s: %v", id, err)
	}
	if st := d.WorkflowExecutionInfo.GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		w.t.Errorf("%s is %s, want failed at once", id, st)
	}
	iter := w.env.Client.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			w.t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			// A signal that comes while the task that ends the workflow runs
			// makes Temporal run that task again: no wedge.
			if f := ev.GetWorkflowTaskFailedEventAttributes(); f.GetCause() != enums.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
				w.t.Errorf("%s: a workflow task failed: %s", id, f.GetFailure().GetMessage())
			}
		case enums.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			w.t.Errorf("%s started a child: %s", id, ev.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetWorkflowId())
		}
	}
}
