package awssandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// policyDocument is an IAM policy: a role's trust policy or a bucket policy.
type policyDocument struct {
	Version   string          `json:"Version"`
	ID        string          `json:"Id,omitempty"`
	Statement statementList   `json:"Statement"`
	raw       json.RawMessage `json:"-"`
}

type statementList []policyStatement

// decodeOne decodes a policy element given as one value where a list of
// them may stand.
func decodeOne[T any, L ~[]T](data []byte, l *L) error {
	var one T
	if err := json.Unmarshal(data, &one); err != nil {
		return err
	}
	*l = L{one}
	return nil
}

func (l *statementList) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '{' {
		return decodeOne(data, l)
	}
	var many []policyStatement
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

type policyStatement struct {
	Sid          string                           `json:"Sid,omitempty"`
	Effect       string                           `json:"Effect"`
	Principal    *principalSet                    `json:"Principal,omitempty"`
	NotPrincipal *principalSet                    `json:"NotPrincipal,omitempty"`
	Action       stringList                       `json:"Action,omitempty"`
	NotAction    stringList                       `json:"NotAction,omitempty"`
	Resource     stringList                       `json:"Resource,omitempty"`
	NotResource  stringList                       `json:"NotResource,omitempty"`
	Condition    map[string]map[string]stringList `json:"Condition,omitempty"`
}

// stringList is a policy value that may be one string or a list of them.
type stringList []string

func (l *stringList) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		return decodeOne(data, l)
	}
	if len(data) > 0 && (data[0] == 't' || data[0] == 'f' || (data[0] >= '0' && data[0] <= '9')) {
		*l = stringList{string(data)}
		return nil
	}
	var many []json.RawMessage
	if err := json.Unmarshal(data, &many); err != nil {
		return err
	}
	out := make(stringList, 0, len(many))
	for _, m := range many {
		var one stringList
		if err := one.UnmarshalJSON(m); err != nil {
			return err
		}
		out = append(out, one...)
	}
	*l = out
	return nil
}

// principalSet is a statement's Principal: "*" or a map of kinds (AWS,
// Service, Federated, CanonicalUser) to values.
type principalSet struct {
	Any   bool
	Kinds map[string]stringList
}

func (p *principalSet) UnmarshalJSON(data []byte) error {
	var star string
	if err := json.Unmarshal(data, &star); err == nil {
		if star != "*" {
			return fmt.Errorf("principal %q is neither \"*\" nor an object", star)
		}
		p.Any = true
		return nil
	}
	return json.Unmarshal(data, &p.Kinds)
}

func (p principalSet) MarshalJSON() ([]byte, error) {
	if p.Any {
		return []byte(`"*"`), nil
	}
	return json.Marshal(p.Kinds)
}

// checkResourcePolicy checks a resource-based policy (a bucket policy, a
// role's trust policy): its grammar, a principal in every statement, and
// what check says of each statement. Its failures are errors with code;
// missingPrincipal is the message for a statement without a principal.
func checkResourcePolicy(text, code, missingPrincipal string, check func(st policyStatement) *apiError) *apiError {
	doc, err := parsePolicy(text)
	if err != nil {
		return errf(code, "%s", capitalize(err.Error()))
	}
	for _, st := range doc.Statement {
		if st.Principal == nil && st.NotPrincipal == nil {
			return errf(code, "%s", missingPrincipal)
		}
		if aerr := check(st); aerr != nil {
			return aerr
		}
	}
	return nil
}

// parsedPolicies remembers policy documents by their text: the sandbox
// evaluates the same few policies (each account's roles, trust and bucket
// policies) on every call, and parsing them was a tenth of its work. The
// documents are never changed once parsed.
var parsedPolicies = struct {
	sync.Mutex
	m map[string]parsedPolicy
}{m: map[string]parsedPolicy{}}

type parsedPolicy struct {
	doc *policyDocument
	err error
}

// maxParsedPolicies bounds parsedPolicies; beyond it, it starts afresh.
const maxParsedPolicies = 8192

// parsePolicy parses a policy document and checks the grammar every policy
// shares, once per text.
func parsePolicy(text string) (*policyDocument, error) {
	parsedPolicies.Lock()
	p, ok := parsedPolicies.m[text]
	parsedPolicies.Unlock()
	if ok {
		return p.doc, p.err
	}
	p.doc, p.err = parsePolicyText(text)
	parsedPolicies.Lock()
	if len(parsedPolicies.m) >= maxParsedPolicies {
		clear(parsedPolicies.m)
	}
	parsedPolicies.m[text] = p
	parsedPolicies.Unlock()
	return p.doc, p.err
}

func parsePolicyText(text string) (*policyDocument, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "{") {
		return nil, errors.New("policies must be valid JSON and the first byte must be '{'")
	}
	var doc policyDocument
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("this policy contains invalid Json: %w", err)
	}
	if len(doc.Statement) == 0 {
		return nil, errors.New("missing required field Statement")
	}
	switch doc.Version {
	case "", "2012-10-17", "2008-10-17":
	default:
		return nil, fmt.Errorf("the policy must contain a valid version string")
	}
	for i, st := range doc.Statement {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, fmt.Errorf("statement %d: invalid effect %q", i, st.Effect)
		}
		if len(st.Action) == 0 && len(st.NotAction) == 0 {
			return nil, fmt.Errorf("statement %d: missing required field Action", i)
		}
	}
	doc.raw = json.RawMessage(text)
	return &doc, nil
}

// accessRequest is one request a policy is evaluated for.
type accessRequest struct {
	// principals: kind ("AWS" or "Service") and every name the caller
	// answers to (account ID, account root ARN, user, role and session
	// ARNs).
	kind       string
	principals []string
	account    string
	action     string
	resource   string // empty for trust policies
	context    map[string][]string
}

// allows reports whether doc explicitly allows req and does not deny it.
func (doc *policyDocument) allows(req accessRequest) bool {
	d, _ := doc.decide(req)
	return d == allowed
}

// decision is the outcome of evaluating policies for a request, named as
// iam:SimulatePrincipalPolicy names it.
type decision int

const (
	implicitDeny decision = iota
	allowed
	explicitDeny
)

func (d decision) String() string {
	switch d {
	case allowed:
		return "allowed"
	case explicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// combine is the decision of two policies together: an explicit deny in
// either wins, then an allow in either.
func (d decision) combine(other decision) decision {
	return max(d, other)
}

// decide evaluates doc for req and returns the statements that decided:
// the denying ones when a statement denies, else the allowing ones.
func (doc *policyDocument) decide(req accessRequest) (decision, []int) {
	var allows, denies []int
	for i, st := range doc.Statement {
		if !st.matches(req) {
			continue
		}
		if st.Effect == "Deny" {
			denies = append(denies, i)
		} else {
			allows = append(allows, i)
		}
	}
	switch {
	case len(denies) > 0:
		return explicitDeny, denies
	case len(allows) > 0:
		return allowed, allows
	}
	return implicitDeny, nil
}

// missingContext lists the condition keys of the statements that apply to
// req's action and resource but that req's context lacks: what
// iam:SimulatePrincipalPolicy reports as MissingContextValues.
func (doc *policyDocument) missingContext(req accessRequest) []string {
	var out []string
	for _, st := range doc.Statement {
		bare := st
		bare.Condition = nil
		if !bare.matches(req) {
			continue
		}
		for _, conds := range st.Condition {
			for key := range conds {
				if _, ok := lookupContext(req.context, key); !ok && !slices.Contains(out, key) {
					out = append(out, key)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func (st policyStatement) matches(req accessRequest) bool {
	if st.Principal != nil && !st.Principal.matches(req) {
		return false
	}
	if st.NotPrincipal != nil && st.NotPrincipal.matches(req) {
		return false
	}
	if len(st.Action) > 0 && !anyWildMatch(st.Action, req.action, true) {
		return false
	}
	if len(st.NotAction) > 0 && anyWildMatch(st.NotAction, req.action, true) {
		return false
	}
	if req.resource != "" {
		resources, ok := resolveVariables(st.Resource, req.context)
		if !ok {
			return false
		}
		notResources, ok := resolveVariables(st.NotResource, req.context)
		if !ok {
			return false
		}
		if len(resources) > 0 && !anyWildMatch(resources, req.resource, false) {
			return false
		}
		if len(notResources) > 0 && anyWildMatch(notResources, req.resource, false) {
			return false
		}
	}
	for op, conds := range st.Condition {
		for key, values := range conds {
			resolved, ok := resolveVariables(values, req.context)
			if !ok || !conditionHolds(op, key, resolved, req.context) {
				return false
			}
		}
	}
	return true
}

// policyVariable is ${key} in a Resource or condition value.
var policyVariable = regexp.MustCompile(`\$\{([^}]*)\}`)

// resolveVariables replaces policy variables (${aws:PrincipalArn}) with
// the request's values. A variable the request has no single value for
// makes the statement inapplicable, as IAM treats it: ok is false.
func resolveVariables(patterns []string, ctx map[string][]string) ([]string, bool) {
	out, copied := patterns, false
	for i, p := range patterns {
		if !strings.Contains(p, "${") {
			continue
		}
		ok := true
		resolved := policyVariable.ReplaceAllStringFunc(p, func(v string) string {
			key := v[2 : len(v)-1]
			switch key {
			case "*", "?", "$":
				return key
			}
			values, present := lookupContext(ctx, key)
			if !present || len(values) != 1 {
				ok = false
				return v
			}
			return values[0]
		})
		if !ok {
			return nil, false
		}
		if !copied {
			out, copied = append([]string(nil), patterns...), true
		}
		out[i] = resolved
	}
	return out, true
}

// lookupContext finds a condition key, whose names IAM compares without
// regard to case.
func lookupContext(ctx map[string][]string, key string) ([]string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func (p *principalSet) matches(req accessRequest) bool {
	if p.Any {
		return true
	}
	for _, v := range p.Kinds[req.kind] {
		if v == "*" {
			return true
		}
		if req.kind == "AWS" && (v == req.account || v == "arn:aws:iam::"+req.account+":root") {
			return true
		}
		for _, name := range req.principals {
			if v == name {
				return true
			}
		}
	}
	return false
}

// conditionHolds evaluates one condition operator on one key. Unknown
// operators never hold, so an unsupported policy denies rather than allows.
func conditionHolds(op, key string, values stringList, ctx map[string][]string) bool {
	op = strings.TrimPrefix(strings.TrimPrefix(op, "ForAnyValue:"), "ForAllValues:")
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	actual, present := lookupContext(ctx, key)
	if op == "Null" {
		want := len(values) > 0 && strings.EqualFold(values[0], "true")
		return want == !present
	}
	if !present {
		if ifExists {
			return true
		}
		return strings.Contains(op, "Not")
	}
	var match func(pattern, v string) bool
	negate := false
	switch op {
	case "StringEquals", "ArnEquals":
		match = func(p, v string) bool { return p == v }
	case "StringNotEquals", "ArnNotEquals":
		match, negate = func(p, v string) bool { return p == v }, true
	case "StringEqualsIgnoreCase":
		match = strings.EqualFold
	case "StringNotEqualsIgnoreCase":
		match, negate = strings.EqualFold, true
	case "StringLike", "ArnLike":
		match = func(p, v string) bool { return wildMatch(p, v, false) }
	case "StringNotLike", "ArnNotLike":
		match, negate = func(p, v string) bool { return wildMatch(p, v, false) }, true
	case "Bool":
		match = strings.EqualFold
	default:
		return false
	}
	any := false
	for _, a := range actual {
		for _, p := range values {
			if match(p, a) {
				any = true
			}
		}
	}
	return any != negate
}

func anyWildMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if wildMatch(p, s, fold) {
			return true
		}
	}
	return false
}

// wildMatch matches s against a policy pattern with * and ? wildcards.
func wildMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// Iterative glob with backtracking over the last star.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
