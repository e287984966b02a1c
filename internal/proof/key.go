package proof

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The ciphersuite of sealed proofs (RFC 9180): DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, ChaCha20-Poly1305.
var (
	suiteKDF  = hpke.HKDFSHA256()
	suiteAEAD = hpke.ChaCha20Poly1305()
)

const (
	publicKeyPrefix  = "tgk1:"
	privateKeyPrefix = "tgsk1:"
	// fingerprintLen is how many bytes of the public key's SHA-256 name it.
	fingerprintLen = 8
)

// PrivateKey opens sealed proofs (HPKE, RFC 9180: DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, from Go's crypto/hpke).
type PrivateKey struct {
	ecdh *ecdh.PrivateKey
	hpke hpke.PrivateKey
	pub  PublicKey
}

// PublicKey seals proofs for one worker key. Its String form is "tgk1:" +
// base64url(raw 32 bytes), no padding. The zero PublicKey is no key.
type PublicKey struct {
	raw [32]byte
}

// GenerateKey creates a new worker key.
func GenerateKey() (*PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate proof key: %w", err)
	}
	return newPrivateKey(k)
}

func newPrivateKey(k *ecdh.PrivateKey) (*PrivateKey, error) {
	h, err := hpke.NewDHKEMPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("use proof key: %w", err)
	}
	out := &PrivateKey{ecdh: k, hpke: h}
	copy(out.pub.raw[:], k.PublicKey().Bytes())
	return out, nil
}

// Public is the key people's CLIs seal proofs to.
func (k *PrivateKey) Public() PublicKey { return k.pub }

// ParsePublicKey parses the String form of a worker's public key.
func ParsePublicKey(s string) (PublicKey, error) {
	const fix = "copy identity.worker_key from what trailgate-worker --print-proof-key prints"
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), publicKeyPrefix)
	if !ok {
		return PublicKey{}, fmt.Errorf("the worker key %q does not start with %s: %s", abbreviate(s), publicKeyPrefix, fix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) != 32 {
		return PublicKey{}, fmt.Errorf("the worker key %q is not %s followed by 32 bytes in unpadded base64url: %s", abbreviate(s), publicKeyPrefix, fix)
	}
	if _, err := ecdh.X25519().NewPublicKey(raw); err != nil {
		return PublicKey{}, fmt.Errorf("the worker key %q is not an X25519 public key: %s", abbreviate(s), fix)
	}
	var p PublicKey
	copy(p.raw[:], raw)
	return p, nil
}

// abbreviate shortens what someone pasted, for an error message.
func abbreviate(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

func (p PublicKey) String() string {
	return publicKeyPrefix + base64.RawURLEncoding.EncodeToString(p.raw[:])
}

// Fingerprint is a short, stable identifier of the key (the first 8 bytes
// of SHA-256 of the raw public key, hex), shown in messages.
func (p PublicKey) Fingerprint() string {
	return hex.EncodeToString(p.fingerprint())
}

func (p PublicKey) fingerprint() []byte {
	sum := sha256.Sum256(p.raw[:])
	return sum[:fingerprintLen]
}

func (p PublicKey) isZero() bool { return p == PublicKey{} }

// LoadOrCreateKey reads the key file at path, or creates it (mode 0600,
// parent directory 0700) when missing. Workers that start together agree
// on one key: the file appears whole, and only the first one created
// stays.
func LoadOrCreateKey(path string) (*PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return parseKeyFile(path, data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read proof key %s: %w", path, err)
	}
	k, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := writeNewKeyFile(path, k); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		// Another worker created it first: use theirs.
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read proof key %s: %w", path, err)
		}
		return parseKeyFile(path, data)
	}
	return k, nil
}

// writeNewKeyFile writes k to a temporary file and links it into place,
// failing with fs.ErrExist when path already exists.
func writeNewKeyFile(path string, k *PrivateKey) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create proof key directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create proof key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	text := fmt.Sprintf("# trailgate worker proof key: it opens people's sealed proofs of identity. Keep it secret.\n"+
		"# Its public key, for identity.worker_key: %s\n%s%s\n",
		k.Public(), privateKeyPrefix, base64.RawURLEncoding.EncodeToString(k.ecdh.Bytes()))
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return fmt.Errorf("write proof key %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write proof key %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write proof key %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("create proof key %s: %w", path, err)
	}
	return nil
}

// parseKeyFile reads a key file: comment lines (#) and one line of
// privateKeyPrefix and the key.
func parseKeyFile(path string, data []byte) (*PrivateKey, error) {
	var found []string
	lines := bufio.NewScanner(bytes.NewReader(data))
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			found = append(found, line)
		}
	}
	corrupt := fmt.Errorf("the proof key file %s does not hold a trailgate proof key (one line %s<key>): "+
		"restore the worker's key file, or move this one away and restart the worker to create a new key, "+
		"then give everyone its public key as identity.worker_key", path, privateKeyPrefix)
	if len(found) != 1 {
		return nil, corrupt
	}
	rest, ok := strings.CutPrefix(found[0], privateKeyPrefix)
	if !ok {
		return nil, corrupt
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, corrupt
	}
	k, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		return nil, corrupt
	}
	return newPrivateKey(k)
}
