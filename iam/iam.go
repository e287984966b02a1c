// Package iam holds the IAM policies trailgate ships: the identity policy the
// role in each management account needs, and the trust policy that lets the
// worker assume that role. The JSON files beside this one are the documents
// to attach; this package embeds them, so that the AWS sandbox's dev default
// and test roles carry exactly them and doctor checks exactly them.
package iam

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// RolePolicy is trailgate-role-policy.json: every action trailgate's worker
// calls in a management account, and nothing else.
//
//go:embed trailgate-role-policy.json
var RolePolicy string

// TrustPolicy is trailgate-trust-policy.json, a template: WorkerPrincipalARN
// and ExternalID stand for the worker's principal and the organization's
// external ID (see TrustPolicyFor).
//
//go:embed trailgate-trust-policy.json
var TrustPolicy string

// The placeholders of TrustPolicy.
const (
	WorkerPrincipalARN = "WORKER_PRINCIPAL_ARN"
	ExternalID         = "EXTERNAL_ID"
)

// TrustPolicyFor is TrustPolicy for one worker principal (an account root,
// user or role ARN) and external ID.
func TrustPolicyFor(principalARN, externalID string) string {
	quote := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return strings.NewReplacer(
		quote(WorkerPrincipalARN), quote(principalARN),
		quote(ExternalID), quote(externalID),
	).Replace(TrustPolicy)
}

// Statement is one statement of RolePolicy, as doctor simulates it.
type Statement struct {
	Sid       string
	Actions   []string
	Resources []string
	// Conditions maps an operator (StringEquals, StringLike) to condition
	// keys and their values.
	Conditions map[string]map[string][]string
}

// Statements are RolePolicy's statements, in order.
func Statements() []Statement {
	var doc struct {
		Statement []struct {
			Sid       string
			Action    OneOrMany[string]
			Resource  OneOrMany[string]
			Condition map[string]map[string]OneOrMany[string]
		}
	}
	if err := json.Unmarshal([]byte(RolePolicy), &doc); err != nil {
		panic(fmt.Sprintf("the embedded trailgate-role-policy.json does not parse: %v", err))
	}
	out := make([]Statement, 0, len(doc.Statement))
	for _, st := range doc.Statement {
		s := Statement{Sid: st.Sid, Actions: st.Action, Resources: st.Resource}
		for op, keys := range st.Condition {
			if s.Conditions == nil {
				s.Conditions = map[string]map[string][]string{}
			}
			s.Conditions[op] = map[string][]string{}
			for k, v := range keys {
				s.Conditions[op][k] = v
			}
		}
		out = append(out, s)
	}
	return out
}

// Actions are every action RolePolicy allows, in the policy's order.
func Actions() []string {
	var out []string
	for _, st := range Statements() {
		out = append(out, st.Actions...)
	}
	return out
}

// OneOrMany is an element of a policy document that may be written as one
// value or as a list of them: "s3:PutObject" or ["s3:PutObject"], one
// statement or a list of statements. It reads both, and writes a single
// value alone.
type OneOrMany[T any] []T

// UnmarshalJSON reads one value or a list.
func (v *OneOrMany[T]) UnmarshalJSON(data []byte) error {
	var one T
	if err := json.Unmarshal(data, &one); err == nil {
		*v = OneOrMany[T]{one}
		return nil
	}
	var many []T
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*v = many
	return nil
}

// MarshalJSON writes a single value alone, and a list otherwise.
func (v OneOrMany[T]) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return json.Marshal(v[0])
	}
	return json.Marshal([]T(v))
}
