package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
	"github.com/trailgate/trailgate/internal/testenv"
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

// retriedAttempt finds, in a history, an activity started more than once.
var retriedAttempt = regexp.MustCompile(`"attempt":\s*([2-9]|\d\d)`)
