package proof_test

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trailgate/trailgate/internal/proof"
)

func newKey(t *testing.T) *proof.PrivateKey {
	t.Helper()
	k, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// aProof is a request as Sign builds it; opening does not look inside.
var aProof = proof.Request{
	URL:     "http://127.0.0.1:4566/",
	Headers: map[string]string{proof.Header: "decision-1", "Authorization": "AWS4-HMAC-SHA256 Credential=…"},
	Body:    "Action=GetCallerIdentity&Version=2011-06-15",
}

func TestPublicKeyRoundTrips(t *testing.T) {
	pub := newKey(t).Public()
	s := pub.String()
	if !strings.HasPrefix(s, "tgk1:") || len(s) != len("tgk1:")+43 {
		t.Fatalf("public key %q is not tgk1: and 32 bytes of unpadded base64url", s)
	}
	parsed, err := proof.ParsePublicKey(s)
	if err != nil {
		t.Fatal(err)
	}
	if parsed != pub || parsed.Fingerprint() != pub.Fingerprint() {
		t.Fatalf("parsed %s (%s), want %s (%s)", parsed, parsed.Fingerprint(), pub, pub.Fingerprint())
	}
	if fp, err := hex.DecodeString(pub.Fingerprint()); err != nil || len(fp) != 8 {
		t.Fatalf("fingerprint %q is not 8 bytes of hex", pub.Fingerprint())
	}
	if newKey(t).Public().Fingerprint() == pub.Fingerprint() {
		t.Fatal("two keys share a fingerprint")
	}

	for _, garbage := range []string{"", "hello", "tgk1:", "tgk1:***", "tgk1:" + base64.RawURLEncoding.EncodeToString(make([]byte, 31)), strings.TrimPrefix(s, "tgk1:")} {
		_, err := proof.ParsePublicKey(garbage)
		if err == nil || !strings.Contains(err.Error(), "identity.worker_key") || !strings.Contains(err.Error(), "tgk1:") {
			t.Errorf("ParsePublicKey(%q) = %v, want an error saying what a key looks like and where it goes", garbage, err)
		}
	}
}

func TestOpenRefusesWhatItCannotOpen(t *testing.T) {
	key, other := newKey(t), newKey(t)

	sealed, err := proof.Seal(other.Public(), aProof)
	if err != nil {
		t.Fatal(err)
	}
	_, err = key.Open(sealed)
	wantRefusal(t, err, proof.RefusedOtherKey, other.Public().Fingerprint(), key.Public().Fingerprint(), "identity.worker_key", key.Public().String())

	sealed, err = proof.Seal(key.Public(), aProof)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "tgp1:"))
	flipped := append([]byte(nil), payload...)
	flipped[len(flipped)-1] ^= 1
	fingerprint, _ := hex.DecodeString(key.Public().Fingerprint())
	for name, garbage := range map[string]string{
		"empty":                     "",
		"not a proof":               "hello",
		"not base64url":             "tgp1:***",
		"too short":                 "tgp1:AAAA",
		"changed after sealing":     "tgp1:" + base64.RawURLEncoding.EncodeToString(flipped),
		"this key's fingerprint":    "tgp1:" + base64.RawURLEncoding.EncodeToString(append(fingerprint, make([]byte, 64)...)),
		"fingerprint, nothing else": "tgp1:" + base64.RawURLEncoding.EncodeToString(fingerprint),
	} {
		_, err := key.Open(garbage)
		t.Run(name, func(t *testing.T) { wantRefusal(t, err, proof.RefusedMalformed) })
	}

	r, err := key.Open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != aProof.URL || r.Body != aProof.Body || r.Binding() != "decision-1" {
		t.Fatalf("opened %+v, want %+v", r, aProof)
	}
	if _, err := proof.Seal(proof.PublicKey{}, aProof); err == nil || !strings.Contains(err.Error(), "identity.worker_key") {
		t.Fatalf("sealing to no key: %v", err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trailgate")
	path := filepath.Join(dir, "proof.key")
	created, err := proof.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Fatalf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
		}
	}
	loaded, err := proof.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Public() != created.Public() {
		t.Fatalf("reloaded key %s, created %s", loaded.Public(), created.Public())
	}
	sealed, err := proof.Seal(created.Public(), aProof)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loaded.Open(sealed); err != nil {
		t.Fatalf("the reloaded key does not open what the created one's public key sealed: %v", err)
	}

	for name, content := range map[string]string{
		"not a key":    "hello\n",
		"empty":        "",
		"truncated":    "tgsk1:AAAA\n",
		"a public key": created.Public().String() + "\n",
		"two keys":     "tgsk1:" + strings.Repeat("A", 43) + "\ntgsk1:" + strings.Repeat("B", 43) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			corrupt := filepath.Join(t.TempDir(), "proof.key")
			if err := os.WriteFile(corrupt, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := proof.LoadOrCreateKey(corrupt)
			if err == nil || !strings.Contains(err.Error(), corrupt) || !strings.Contains(err.Error(), "does not hold a trailgate proof key") || !strings.Contains(err.Error(), "identity.worker_key") {
				t.Fatalf("corrupt key file: %v, want an error naming the file, what is wrong and what to do", err)
			}
			if after, _ := os.ReadFile(corrupt); string(after) != content {
				t.Fatalf("the corrupt key file was changed to %q", after)
			}
		})
	}
}

// Workers that start together on a shared key file agree on one key.
func TestWorkersCreatingTheKeyTogetherAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proof.key")
	keys := make([]proof.PublicKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := proof.LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k.Public()
		})
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("workers hold different keys: %v", keys)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("the key directory holds %v, want only the key", entries)
	}
}
