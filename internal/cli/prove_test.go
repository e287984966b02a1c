package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/workflows"
)

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
