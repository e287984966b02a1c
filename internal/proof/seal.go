package proof

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// sealedPrefix starts every sealed proof.
const sealedPrefix = "tgp1:"

// sealInfo binds sealed proofs to their purpose, so that nothing else
// sealed to a worker key opens as a proof.
var sealInfo = []byte("trailgate proof of identity v1")

// Seal encrypts r to the worker's public key: "tgp1:" +
// base64url(fingerprint(8 bytes) || enc || ciphertext).
func Seal(pub PublicKey, r Request) (string, error) {
	if pub.isZero() {
		return "", errors.New("seal proof of identity: no worker key: set identity.worker_key in the CLI's configuration to what trailgate-worker --print-proof-key prints")
	}
	ek, err := ecdh.X25519().NewPublicKey(pub.raw[:])
	if err != nil {
		return "", fmt.Errorf("seal proof of identity to worker key %s: %w", pub.Fingerprint(), err)
	}
	hk, err := hpke.NewDHKEMPublicKey(ek)
	if err != nil {
		return "", fmt.Errorf("seal proof of identity to worker key %s: %w", pub.Fingerprint(), err)
	}
	plain, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("seal proof of identity: encode it: %w", err)
	}
	sealed, err := hpke.Seal(hk, suiteKDF, suiteAEAD, sealInfo, plain)
	if err != nil {
		return "", fmt.Errorf("seal proof of identity to worker key %s: %w", pub.Fingerprint(), err)
	}
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(append(pub.fingerprint(), sealed...)), nil
}

// Open decrypts a sealed proof. A proof sealed for another key fails with a
// *Refusal of kind RefusedOtherKey naming both keys; anything else that does
// not open fails with RefusedMalformed.
func (k *PrivateKey) Open(sealed string) (Request, error) {
	const again = "run the command again with trailgate"
	rest, ok := strings.CutPrefix(strings.TrimSpace(sealed), sealedPrefix)
	if !ok {
		return Request{}, refuse(RefusedMalformed, "the proof does not start with "+sealedPrefix+", so it is not a sealed trailgate proof: "+again)
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) < fingerprintLen {
		return Request{}, refuse(RefusedMalformed, "the proof is not "+sealedPrefix+" followed by unpadded base64url: "+again)
	}
	if fp := b[:fingerprintLen]; !bytes.Equal(fp, k.pub.fingerprint()) {
		return Request{}, refuse(RefusedOtherKey, fmt.Sprintf(
			"the proof was sealed for worker key %x, but this worker's key is %s: set identity.worker_key in the CLI's configuration to %s and run the command again",
			fp, k.pub.Fingerprint(), k.pub))
	}
	plain, err := hpke.Open(k.hpke, suiteKDF, suiteAEAD, sealInfo, b[fingerprintLen:])
	if err != nil {
		return Request{}, refuse(RefusedMalformed, fmt.Sprintf("the proof does not open with worker key %s: it was changed after it was sealed: %s", k.pub.Fingerprint(), again))
	}
	var r Request
	if err := json.Unmarshal(plain, &r); err != nil {
		return Request{}, refuse(RefusedMalformed, "the sealed proof does not hold a signed request: "+again)
	}
	return r, nil
}
