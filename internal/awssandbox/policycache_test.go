package awssandbox

import (
	"fmt"
	"testing"
)

// A policy is parsed once per text; a policy that does not parse keeps
// failing; the cache stays within its bound.
func TestPoliciesAreParsedOncePerText(t *testing.T) {
	text := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	a, err := parsePolicy(text)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := parsePolicy(text); b != a {
		t.Error("the same policy text was parsed twice")
	}
	for range 2 {
		if _, err := parsePolicy(`{"Statement":[{"Effect":"Maybe","Action":"*"}]}`); err == nil {
			t.Fatal("a policy with an invalid effect parsed")
		}
	}
	for i := range maxParsedPolicies + 5 {
		if _, err := parsePolicy(fmt.Sprintf(`{"Id":"%d","Statement":[{"Effect":"Allow","Action":"*"}]}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	parsedPolicies.Lock()
	n := len(parsedPolicies.m)
	parsedPolicies.Unlock()
	if n > maxParsedPolicies {
		t.Errorf("%d parsed policies kept, want at most %d", n, maxParsedPolicies)
	}
}
