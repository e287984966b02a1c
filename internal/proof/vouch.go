package proof

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// A worker vouches for what it says to itself: a change's decisions, sent
// by signal to its organizations' workflows, where anyone who reaches
// Temporal could send a signal too. Only a worker holding the key can
// vouch, so a workflow checks a decision without asking its sender.

// vouchLabel separates the vouching key from every other use of the
// private key.
const vouchLabel = "trailgate vouch v1\x00"

// Vouch is the worker's word for message: HMAC-SHA256 under a key derived
// from the private key, base64url without padding.
func (k *PrivateKey) Vouch(message []byte) string {
	m := hmac.New(sha256.New, k.vouchKey())
	m.Write(message)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Vouches reports whether word is the worker's word for message.
func (k *PrivateKey) Vouches(message []byte, word string) bool {
	got, err := base64.RawURLEncoding.DecodeString(word)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, k.vouchKey())
	m.Write(message)
	return hmac.Equal(got, m.Sum(nil))
}

func (k *PrivateKey) vouchKey() []byte {
	sum := sha256.Sum256(append([]byte(vouchLabel), k.ecdh.Bytes()...))
	return sum[:]
}
