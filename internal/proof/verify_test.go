package proof_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailgate/trailgate/internal/awssandbox"

	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
	"github.com/trailgate/trailgate/internal/proof"
)

const region = "us-east-1"

// start runs an AWS sandbox for one test and a verifier that trusts it.
func start(t *testing.T) (*sandboxtest.Env, proof.Verifier) {
	t.Helper()
	env := sandboxtest.Start(t, awssandbox.Options{Seed: 7})
	return env, proof.Verifier{Endpoint: env.URL, HTTP: env.Server.Client()}
}

func credsOf(u awssandbox.User) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(u.AccessKeyID, u.SecretAccessKey, "")
}

func sign(t *testing.T, creds aws.CredentialsProvider, endpoint, binding string, at time.Time) proof.Request {
	t.Helper()
	r, err := proof.Sign(context.Background(), creds, endpoint, region, binding, at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestProofNamesWhoSignedIt(t *testing.T) {
	env, v := start(t)
	key, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		person := env.Person(name)
		signedAt := time.Now()
		sealed, err := proof.Seal(key.Public(), sign(t, credsOf(person), env.URL, "decision-"+name, signedAt))
		if err != nil {
			t.Fatal(err)
		}
		r, err := key.Open(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if r.Binding() != "decision-"+name {
			t.Fatalf("binding %q, want decision-%s", r.Binding(), name)
		}
		if at, err := r.SignedAt(); err != nil || at.Unix() != signedAt.Unix() {
			t.Fatalf("signed at %v (%v), want %v", at, err, signedAt)
		}
		caller, err := v.Verify(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if caller.ARN != person.ARN || caller.Account != env.PeopleAccountID || caller.UserID == "" {
			t.Fatalf("%s's proof names %+v, want %s", name, caller, person.ARN)
		}
	}
}

// A proof signed with session credentials replays its token, and the
// sealed proof shows neither the token nor the access key.
func TestSealedProofCarriesNoCredentialsInClear(t *testing.T) {
	env, v := start(t)
	org := env.Orgs[0]
	out, err := sts.NewFromConfig(env.OperatorConfig()).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(org.RoleARN), RoleSessionName: aws.String("carol"), ExternalId: aws.String(org.ExternalID),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	r := sign(t, credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken), env.URL, "decision-1", time.Now())
	secrets := []string{*c.AccessKeyId, *c.SessionToken}
	clear, _ := json.Marshal(r)
	for _, s := range secrets {
		if !strings.Contains(string(clear), s) {
			t.Fatalf("the signed request does not carry %s, so this test proves nothing", s)
		}
	}

	key, _ := proof.GenerateKey()
	sealed, err := proof.Seal(key.Public(), r)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "tgp1:"))
	if err != nil || !strings.HasPrefix(sealed, "tgp1:") {
		t.Fatalf("sealed proof %q is not tgp1: and base64url: %v", sealed, err)
	}
	for _, s := range secrets {
		if strings.Contains(sealed, s) || strings.Contains(string(payload), s) {
			t.Fatalf("the sealed proof shows %s", s)
		}
	}

	opened, err := key.Open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	caller, err := v.Verify(context.Background(), opened)
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sts::" + org.ManagementAccountID + ":assumed-role/TrailgateOperator/carol"; caller.ARN != want {
		t.Fatalf("session proof names %s, want %s", caller.ARN, want)
	}
}

// signUnbound signs a GetCallerIdentity request without the decision
// header, then adds it unsigned: a valid signature that binds nothing.
func signUnbound(t *testing.T, env *sandboxtest.Env, u awssandbox.User) proof.Request {
	t.Helper()
	req := env.CallerIdentityRequest(u, time.Now(), nil)
	body := sandboxtest.CallerIdentityBody
	r := proof.Request{URL: env.URL + "/", Body: body, Headers: map[string]string{"Host": req.URL.Host, "Content-Length": strconv.Itoa(len(body))}}
	for _, h := range []string{"Authorization", "X-Amz-Date", "Content-Type"} {
		r.Headers[h] = req.Header.Get(h)
	}
	return r
}

func TestUnboundProofIsRefused(t *testing.T) {
	env, v := start(t)
	alice := env.Person("alice")

	unbound := signUnbound(t, env, alice)
	_, err := v.Verify(context.Background(), unbound)
	wantRefusal(t, err, proof.RefusedNotBound, proof.Header, "not signed")

	unbound.Headers[proof.Header] = "decision-1"
	if unbound.Binding() != "decision-1" {
		t.Fatalf("binding %q", unbound.Binding())
	}
	_, err = v.Verify(context.Background(), unbound)
	wantRefusal(t, err, proof.RefusedNotBound, proof.Header, "not signed")

	// Spaces that SigV4 does not sign would let a proof fit two decisions.
	spaced := sign(t, credsOf(alice), env.URL, "decision-1", time.Now())
	spaced.Headers[proof.Header] = "decision-1 "
	_, err = v.Verify(context.Background(), spaced)
	wantRefusal(t, err, proof.RefusedMalformed, "spaces")
	if _, err := proof.Sign(context.Background(), credsOf(alice), env.URL, region, "decision  1", time.Now()); err == nil {
		t.Fatal("signed a decision with repeated spaces")
	}

	// The same header twice, once in other case, could show one decision
	// to the worker and sign another.
	r := sign(t, credsOf(alice), env.URL, "decision-1", time.Now())
	r.Headers[strings.ToLower(proof.Header)] = "decision-2"
	_, err = v.Verify(context.Background(), r)
	wantRefusal(t, err, proof.RefusedMalformed, "twice")
}

func TestStaleProofIsRefused(t *testing.T) {
	env, v := start(t)
	alice := credsOf(env.Person("alice"))

	_, err := v.Verify(context.Background(), sign(t, alice, env.URL, "decision-1", time.Now().Add(-20*time.Minute)))
	wantRefusal(t, err, proof.RefusedExpired, "signed 20m ago", "15 minutes", "run the command again")

	_, err = v.Verify(context.Background(), sign(t, alice, env.URL, "decision-1", time.Now().Add(20*time.Minute)))
	wantRefusal(t, err, proof.RefusedExpired, "20m ahead", "clock")

	// The worker's clock decides, not the signer's.
	fresh := sign(t, alice, env.URL, "decision-1", time.Now())
	late := v
	late.Now = func() time.Time { return time.Now().Add(16 * time.Minute) }
	_, err = late.Verify(context.Background(), fresh)
	wantRefusal(t, err, proof.RefusedExpired, "signed 16m ago")
}

func TestProofForAnotherEndpointIsRefused(t *testing.T) {
	env, v := start(t)
	r := sign(t, credsOf(env.Person("alice")), "https://sts.amazonaws.com", "decision-1", time.Now())
	_, err := v.Verify(context.Background(), r)
	wantRefusal(t, err, proof.RefusedOtherEndpoint, "sts.amazonaws.com", strings.TrimPrefix(env.URL, "http://"), "identity.sts_endpoint")

	// Pointing the request at the worker's endpoint does not help: the
	// signed host still says where it was signed for.
	r.URL = env.URL + "/"
	_, err = v.Verify(context.Background(), r)
	wantRefusal(t, err, proof.RefusedOtherEndpoint, "sts.amazonaws.com")
}

func TestForgedProofIsRefusedBySTS(t *testing.T) {
	env, v := start(t)
	alice := env.Person("alice")

	forged := credentials.NewStaticCredentialsProvider(alice.AccessKeyID, "not-alice's-secret", "")
	_, err := v.Verify(context.Background(), sign(t, forged, env.URL, "decision-1", time.Now()))
	wantRefusal(t, err, proof.RefusedBySTS, "SignatureDoesNotMatch", "your own AWS credentials")

	tampered := sign(t, credsOf(alice), env.URL, "decision-1", time.Now())
	tampered.Headers[proof.Header] = "decision-2"
	_, err = v.Verify(context.Background(), tampered)
	wantRefusal(t, err, proof.RefusedBySTS, "SignatureDoesNotMatch")

	unknown := credentials.NewStaticCredentialsProvider("AKIAUNKNOWNUNKNOWN00", "secret", "")
	_, err = v.Verify(context.Background(), sign(t, unknown, env.URL, "decision-1", time.Now()))
	wantRefusal(t, err, proof.RefusedBySTS, "InvalidClientTokenId")
}

// When STS cannot answer, the error is one to retry, not a refusal.
func TestSTSOutageIsNoRefusal(t *testing.T) {
	env, v := start(t)
	r := sign(t, credsOf(env.Person("alice")), env.URL, "decision-1", time.Now())
	for _, code := range []string{"ThrottlingException", "ServiceException"} {
		env.Sandbox.SetFaults([]awssandbox.Fault{{Service: "sts", Operation: "GetCallerIdentity", Error: code}})
		_, err := v.Verify(context.Background(), r)
		var refusal *proof.Refusal
		if err == nil || errors.As(err, &refusal) {
			t.Fatalf("STS answering %s: %v, want an error that is no refusal", code, err)
		}
	}
	env.Sandbox.SetFaults(nil)
	if _, err := v.Verify(context.Background(), r); err != nil {
		t.Fatalf("once STS answers again: %v", err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	gone := proof.Verifier{Endpoint: down.URL}
	_, err := gone.Verify(context.Background(), sign(t, credsOf(env.Person("alice")), down.URL, "decision-1", time.Now()))
	var refusal *proof.Refusal
	if err == nil || errors.As(err, &refusal) {
		t.Fatalf("STS unreachable: %v, want an error that is no refusal", err)
	}
}

func TestMalformedRequestIsRefused(t *testing.T) {
	env, v := start(t)
	good := func() proof.Request { return sign(t, credsOf(env.Person("alice")), env.URL, "decision-1", time.Now()) }

	other := good()
	other.Body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/x&RoleSessionName=x"
	_, err := v.Verify(context.Background(), other)
	wantRefusal(t, err, proof.RefusedMalformed, "GetCallerIdentity")

	unsigned := good()
	delete(unsigned.Headers, "Authorization")
	_, err = v.Verify(context.Background(), unsigned)
	wantRefusal(t, err, proof.RefusedMalformed, "not signed")

	lacking := good()
	delete(lacking.Headers, "X-Amz-Date")
	_, err = v.Verify(context.Background(), lacking)
	wantRefusal(t, err, proof.RefusedMalformed, "x-amz-date")
}
