package iam_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/iam"
)

func TestRolePolicyActions(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range iam.Actions() {
		service, op, ok := strings.Cut(a, ":")
		if !ok || service == "" || op == "" || strings.ContainsAny(a, "*?") {
			t.Errorf("action %q is not one service's one action", a)
		}
		if seen[a] {
			t.Errorf("action %s is allowed twice", a)
		}
		seen[a] = true
	}
	for _, want := range []string{"organizations:EnableAWSServiceAccess", "cloudtrail:LookupEvents", "iam:CreateServiceLinkedRole", "sts:AssumeRole"} {
		if !seen[want] {
			t.Errorf("the role policy lacks %s", want)
		}
	}
	for _, st := range iam.Statements() {
		if len(st.Resources) == 0 {
			t.Errorf("statement %s names no resource", st.Sid)
		}
	}
}

func TestTrustPolicyFor(t *testing.T) {
	doc := iam.TrustPolicyFor("arn:aws:iam::111122223333:root", `ext"1`)
	var p struct {
		Statement []struct {
			Principal struct{ AWS string }
			Action    []string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("trust policy for a worker is not JSON: %v\n%s", err, doc)
	}
	st := p.Statement[0]
	if st.Principal.AWS != "arn:aws:iam::111122223333:root" || st.Condition["StringEquals"]["sts:ExternalId"] != `ext"1` {
		t.Fatalf("trust policy %s", doc)
	}
	if !strings.Contains(strings.Join(st.Action, " "), "sts:SetSourceIdentity") {
		t.Fatalf("trust policy does not let the worker set a source identity: %s", doc)
	}
}
