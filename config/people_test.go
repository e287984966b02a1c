package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/config"
)

var alice = config.Person{Name: "alice", Principals: []string{"arn:aws:iam::111122223333:user/alice"}}

var bob = config.Person{Name: "bob", Principals: []string{
	"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_CloudTrailApprovers_*/bob@example.com",
	"arn:aws:iam::444455556666:role/Approver",
}}

// wantProblems checks that err holds exactly the problems that start with
// the wanted prefixes, in order.
func wantProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	ps := problems(t, err)
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(ps), len(want), strings.Join(ps, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, ps[i], w)
		}
	}
}

// people is read from the file, and from TRAILGATE_PEOPLE as JSON or as
// YAML, as organizations is.
func TestPeopleFromTheFileOrTheEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, file, env string }{
		{name: "file", file: `people:
  - name: alice
    principals: ["arn:aws:iam::111122223333:user/alice"]
  - name: bob
    principals:
      - arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_CloudTrailApprovers_*/bob@example.com
      - arn:aws:iam::444455556666:role/Approver
approvals:
  approvers: [alice, bob]
`},
		{name: "json", env: `[{"name": "alice", "principals": ["arn:aws:iam::111122223333:user/alice"]},
			{"name": "bob", "principals": ["arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_CloudTrailApprovers_*/bob@example.com", "arn:aws:iam::444455556666:role/Approver"]}]`},
		{name: "yaml", env: `
- name: alice
  principals: [arn:aws:iam::111122223333:user/alice]
- name: bob
  principals:
    - arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_CloudTrailApprovers_*/bob@example.com
    - arn:aws:iam::444455556666:role/Approver
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := isolate(t)
			writeFile(t, dir, "trailgate.yaml", tc.file)
			t.Setenv("TRAILGATE_PEOPLE", tc.env)
			c, err := config.Load(config.LoadOptions{WorkDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if want := []config.Person{alice, bob}; !reflect.DeepEqual(c.People, want) {
				t.Errorf("people = %+v, want %+v", c.People, want)
			}
		})
	}
}

func TestIdentityFromTheEnvironment(t *testing.T) {
	dir := isolate(t)
	t.Setenv("TRAILGATE_IDENTITY_ALLOW_CLAIMS", "true")
	t.Setenv("TRAILGATE_IDENTITY_PROOF_KEY_FILE", "/var/lib/trailgate/proof.key")
	t.Setenv("TRAILGATE_IDENTITY_WORKER_KEY", "tgk1:AAAA")
	t.Setenv("TRAILGATE_IDENTITY_STS_ENDPOINT", "http://127.0.0.1:4566")
	c, err := config.Load(config.LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Identity{AllowClaims: true, ProofKeyFile: "/var/lib/trailgate/proof.key", WorkerKey: "tgk1:AAAA", STSEndpoint: "http://127.0.0.1:4566"}
	if c.Identity != want {
		t.Errorf("identity = %+v, want %+v", c.Identity, want)
	}
}

func TestUnknownKeysInPeople(t *testing.T) {
	dir := isolate(t)
	path := writeFile(t, dir, "trailgate.yaml", `organizations:
  - name: prod
    management_account_id: "012345678901"
people:
  - name: alice
    principals: ["arn:aws:iam::111122223333:user/alice"]
  - name: bob
    principal: arn:aws:iam::111122223333:user/bob
    email: bob@example.com
`)
	_, err := config.Load(config.LoadOptions{WorkDir: dir})
	wantProblems(t, err,
		path+`:8: unknown key "principal" in people[1] (did you mean "principals"?); remove it or fix its spelling`,
		path+`:9: unknown key "email" in people[1]; an entry has name, principals`,
		`people[1] (bob): principals is empty`,
	)
}

func TestUnknownKeyInPeopleFromTheEnvironment(t *testing.T) {
	dir := isolate(t)
	t.Setenv("TRAILGATE_PEOPLE", `[{name: alice, principals: ["arn:aws:iam::111122223333:user/alice"], nmae: alice}]`)
	_, err := config.Load(config.LoadOptions{WorkDir: dir})
	wantProblems(t, err, `TRAILGATE_PEOPLE:1: unknown key "nmae" in people[0] (did you mean "name"?)`)
}

func TestPeopleOfTheWrongShape(t *testing.T) {
	dir := isolate(t)
	path := writeFile(t, dir, "trailgate.yaml", "people:\n  - name: bob\n    principals: {user: bob}\n  - alice\n")
	_, err := config.Load(config.LoadOptions{WorkDir: dir})
	wantProblems(t, err,
		path+`: people[0].principals is a mapping; write a list`,
		path+`: people[1] must be a mapping with name and principals`,
		`people[0] (bob): principals is empty`,
	)

	writeFile(t, dir, "trailgate.yaml", "people: alice\n")
	_, err = config.Load(config.LoadOptions{WorkDir: dir})
	wantProblems(t, err, path+`: people must be a list of entries, each with name and principals`)

	writeFile(t, dir, "trailgate.yaml", "")
	t.Setenv("TRAILGATE_PEOPLE", `[{name: alice`)
	_, err = config.Load(config.LoadOptions{WorkDir: dir})
	wantProblems(t, err, `TRAILGATE_PEOPLE: not valid YAML or JSON`)
	if msg := err.Error(); !strings.Contains(msg, `give a list such as [{name: alice, principals: ["arn:aws:iam::111122223333:user/alice"]}]`) {
		t.Errorf("error does not show how to write the list:\n%s", msg)
	}
}

// Every list of entries says what an entry must have when one is not a
// mapping.
func TestEveryListSaysWhatAnEntryNeeds(t *testing.T) {
	keys := config.Keys()
	for i, k := range keys {
		if i+1 == len(keys) || !strings.HasPrefix(keys[i+1].Name, k.Name+"[].") {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			dir := isolate(t)
			t.Setenv(k.Env, "[just-a-name]")
			_, err := config.Load(config.LoadOptions{WorkDir: dir})
			wantProblems(t, err, k.Env+": "+k.Name+"[0] must be a mapping with name and ")
		})
	}
}

func TestKeysListTheKeysOfAPerson(t *testing.T) {
	got := map[string]config.Key{}
	for _, k := range config.Keys() {
		got[k.Name] = k
	}
	for _, want := range []config.Key{
		{Name: "people", Env: "TRAILGATE_PEOPLE"},
		{Name: "people[].name"},
		{Name: "people[].principals"},
		{Name: "identity.allow_claims", Env: "TRAILGATE_IDENTITY_ALLOW_CLAIMS", Flag: "identity-allow-claims"},
		{Name: "identity.proof_key_file", Env: "TRAILGATE_IDENTITY_PROOF_KEY_FILE", Flag: "identity-proof-key-file"},
		{Name: "identity.worker_key", Env: "TRAILGATE_IDENTITY_WORKER_KEY", Flag: "identity-worker-key"},
		{Name: "identity.sts_endpoint", Env: "TRAILGATE_IDENTITY_STS_ENDPOINT", Flag: "identity-sts-endpoint"},
	} {
		if got[want.Name] != want {
			t.Errorf("key %s = %+v, want %+v", want.Name, got[want.Name], want)
		}
	}
}

func TestValidatePeopleAndIdentity(t *testing.T) {
	c := config.Default()
	c.People = []config.Person{
		alice,
		{Name: "", Principals: alice.Principals},
		{Name: "bob smith", Principals: bob.Principals},
		{Name: "alice", Principals: []string{"arn:aws:iam::111122223333:user/alice2"}},
		{Name: "carol"},
		{Name: "dana", Principals: []string{"dana", "arn:aws:iam::111122223333:user/dana"}},
	}
	c.Identity.STSEndpoint = "sts.amazonaws.com"
	c.Identity.WorkerKey = "age1qyqszqgpqyqszqgpqyqszqgp"
	c.Approvals.Approvers = []string{"alice", "erin", "erin"}
	c.Approvals.CloudTrailAdmins = []string{"frank"}

	wantProblems(t, c.Validate(),
		`people[1]: name is empty; give the person the name that approvals lists them by`,
		`people[2] (bob smith): name "bob smith" cannot be listed in approvals or records; use 1 to 64 letters, digits, '.', '_' or '-'`,
		`people[3] (alice): name "alice" is already used by people[0]; list each person once`,
		`people[4] (carol): principals is empty, so nobody can prove to be this person; list the AWS principals that prove them`,
		`people[5] (dana): principal "dana" is not an IAM or STS ARN; write it like arn:aws:iam::111122223333:user/alice or arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_*/*`,
		`identity.sts_endpoint "sts.amazonaws.com" is not an http or https URL; set STS's http(s) URL, such as https://sts.amazonaws.com`,
		`identity.worker_key does not start with tgk1:, so it is not a worker key; set it to what trailgate-worker --print-proof-key prints`,
		`approvals.approvers lists "erin" twice`,
		`approvals.approvers names erin, who is not among people; add erin to people with the AWS principals that prove them, or remove erin from approvals.approvers`,
		`approvals.cloudtrail_admins names frank, who is not among people; add frank to people`,
	)
}

func TestPrincipals(t *testing.T) {
	valid := []string{
		"arn:aws:iam::111122223333:user/alice",
		"arn:aws:iam::111122223333:user/engineering/alice",
		"arn:aws:iam::111122223333:role/Approver",
		"arn:aws:iam::111122223333:user/*",
		"arn:aws:sts::111122223333:assumed-role/Approver/alice@example.com",
		"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_CloudTrailApprovers_*/*",
		"arn:aws-us-gov:sts::111122223333:assumed-role/Approver/alice",
		"arn:aws-cn:iam::111122223333:user/alice",
	}
	invalid := []string{
		"*",
		"arn:aws:*",
		"alice",
		"arn:aws:iam::1111:user/alice", // account too short
		"arn:aws:iam::111122223333:group/approvers",           // a group signs nothing
		"arn:aws:iam::111122223333:user/",                     // no user
		"arn:aws:iam::111122223333:*",                         // neither user nor role
		"arn:aws:sts::111122223333:assumed-role/Approver",     // no session
		"arn:aws:sts::111122223333:federated-user/alice",      // not an assumed role
		"arn:aws:s3:::bucket/alice",                           // not IAM or STS
		"arn:aws:iam::111122223333:user/alice smith",          // no spaces in names
		" arn:aws:iam::111122223333:user/alice",               // no spaces around
		"arn:*:iam::111122223333:user/alice",                  // the partition is written out
		"arn:aws:iam::*:role/Approver",                        // any account: an attacker's too
		"arn:aws:iam::111122223333:user/alice\nrole/Approver", // one principal a line
	}
	check := func(principal string) error {
		c := config.Default()
		c.People = []config.Person{{Name: "alice", Principals: []string{principal}}}
		return c.Validate()
	}
	for _, p := range valid {
		if err := check(p); err != nil {
			t.Errorf("principal %q: %v, want it accepted", p, err)
		}
	}
	for _, p := range invalid {
		if err := check(p); err == nil || !strings.Contains(err.Error(), "is not an IAM or STS ARN") {
			t.Errorf("principal %q: error %v, want it rejected as not an IAM or STS ARN", p, err)
		}
	}
}

// The CLI validates with Validate, the worker with ValidateWorker; without
// people, a list of approvers stays valid for the CLI.
func TestValidateWorker(t *testing.T) {
	c := config.Default()
	c.Approvals.Approvers = []string{"alice", "bob"}
	c.Approvals.CloudTrailAdmins = []string{"dana"}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v, want approvers without people to be valid for the CLI", err)
	}
	wantProblems(t, c.ValidateWorker(),
		`approvals.approvers lists alice, bob, but people is empty, so nobody can prove to be any of them; add them to people with the AWS principals that prove them, or, for a trial, set identity.allow_claims: true`,
		`approvals.cloudtrail_admins lists dana, but people is empty`,
		`identity.proof_key_file is empty: the worker needs a key to open people's sealed proofs; set it to a file path (the worker creates the key there on first start; every worker of a task queue must share it)`,
	)

	c.Log.Level = "loud"
	c.Identity.AllowClaims = true
	wantProblems(t, c.ValidateWorker(),
		`log.level "loud" is not a log level`,
		`identity.proof_key_file is empty`,
	)

	c.Log.Level = "info"
	c.Identity = config.Identity{ProofKeyFile: "/var/lib/trailgate/proof.key"}
	c.People = []config.Person{alice, bob, {Name: "dana", Principals: []string{"arn:aws:iam::111122223333:role/CloudTrailAdmin"}}}
	if err := c.ValidateWorker(); err != nil {
		t.Errorf("ValidateWorker: %v, want nil", err)
	}
}

// An entry that is not a mapping, ~ included, is named by its place in the
// file and left out; the entries after it keep their place in messages.
func TestEntriesThatAreNotMappingsAreLeftOut(t *testing.T) {
	dir := isolate(t)
	path := writeFile(t, dir, "trailgate.yaml", "people:\n  - ~\n  - alice\n  - name: bob\n    principals: {user: bob}\n")
	c, err := config.Load(config.LoadOptions{WorkDir: dir})
	wantProblems(t, err,
		path+`: people[0] must be a mapping with name and principals`,
		path+`: people[1] must be a mapping with name and principals`,
		path+`: people[2].principals is a mapping; write a list`,
		`people[0] (bob): principals is empty`,
	)
	if len(c.People) != 1 || c.People[0].Name != "bob" {
		t.Errorf("people = %+v, want bob alone", c.People)
	}
}
