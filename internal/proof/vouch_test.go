package proof_test

import (
	"testing"

	"github.com/trailgate/trailgate/internal/proof"
)

func TestOnlyTheWorkersKeyVouches(t *testing.T) {
	k, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`chg-1/acme-prod {"kind":"release"}`)
	word := k.Vouch(msg)
	if !k.Vouches(msg, word) {
		t.Fatal("a key does not vouch for its own word")
	}
	for name, c := range map[string]struct {
		key  *proof.PrivateKey
		msg  []byte
		word string
	}{
		"another key":     {other, msg, word},
		"another message": {k, []byte(`chg-1/globex {"kind":"release"}`), word},
		"no word":         {k, msg, ""},
		"not base64":      {k, msg, "!!"},
		"another word":    {k, msg, other.Vouch(msg)},
	} {
		if c.key.Vouches(c.msg, c.word) {
			t.Errorf("%s: vouched", name)
		}
	}
}
