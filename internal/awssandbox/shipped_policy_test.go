package awssandbox

import (
	"slices"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/iam"
)

// The policy trailgate ships grants every permission trailgate's code uses
// (iam.Needed), with the condition values its calls carry, and nothing
// more: a permission removed from iam/trailgate-role-policy.json fails
// here by name, as well as in every test whose calls need it.
func TestTheShippedPolicyGrantsWhatTrailgateNeedsAndNoMore(t *testing.T) {
	doc, err := parsePolicy(iam.RolePolicy)
	if err != nil {
		t.Fatal(err)
	}
	const principal = "arn:aws:iam::111122223333:role/TrailgateOperator"
	for _, st := range iam.Needed {
		ctx := map[string][]string{"aws:PrincipalArn": {principal}}
		for _, keys := range st.Conditions {
			for key, values := range keys {
				ctx[key] = values
			}
		}
		for _, action := range st.Actions {
			for _, r := range st.Resources {
				resource := strings.ReplaceAll(r, "${aws:PrincipalArn}", principal)
				if !doc.allows(accessRequest{kind: "AWS", principals: []string{principal}, account: "111122223333", action: action, resource: resource, context: ctx}) {
					t.Errorf("iam/trailgate-role-policy.json does not grant %s on %s, which trailgate needs (statement %s)", action, resource, st.Sid)
				}
			}
		}
	}
	for _, a := range iam.Actions() {
		if !slices.Contains(iam.NeededActions(), a) {
			t.Errorf("iam/trailgate-role-policy.json grants %s, which trailgate does not use: remove it, or add it to iam.Needed with the code that calls it", a)
		}
	}
	// A condition the code does not meet is no grant.
	if doc.allows(accessRequest{kind: "AWS", principals: []string{principal}, action: "organizations:EnableAWSServiceAccess", resource: "*",
		context: map[string][]string{"organizations:ServicePrincipal": {"config.amazonaws.com"}}}) {
		t.Error("the shipped policy lets trailgate enable trusted access for another service")
	}
}
