package awssandbox

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Inline identity policies of roles (PutRolePolicy, GetRolePolicy,
// DeleteRolePolicy, ListRolePolicies) and the policy simulator that
// evaluates them (SimulatePrincipalPolicy). authorizeSession enforces them on
// every call a session of the role makes.

var policyNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// maxInlineRolePolicyChars is IAM's quota on a role's inline policies
// together, counted without whitespace.
const maxInlineRolePolicyChars = 10240

// validateIdentityPolicy checks an identity policy as IAM does when it is
// put: valid grammar, no principal, resources in every statement, and
// actions prefixed by their service.
func validateIdentityPolicy(text string) *apiError {
	doc, err := parsePolicy(text)
	if err != nil {
		return errf("MalformedPolicyDocument", "Syntax errors in policy.")
	}
	for _, st := range doc.Statement {
		if st.Principal != nil || st.NotPrincipal != nil {
			return errf("MalformedPolicyDocument", "Policy document should not specify a principal.")
		}
		if len(st.Resource) == 0 && len(st.NotResource) == 0 {
			return errf("MalformedPolicyDocument", "Policy statement must contain resources.")
		}
		for _, a := range append(append([]string{}, st.Action...), st.NotAction...) {
			if a != "*" && !strings.Contains(a, ":") {
				return errf("MalformedPolicyDocument", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
			}
		}
	}
	return nil
}

func policyChars(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// putRolePolicyLocked validates and stores an inline policy; the caller
// holds s.mu.
func (s *Sandbox) putRolePolicyLocked(a *account, roleName, policyName, document string) *apiError {
	if !policyNamePattern.MatchString(policyName) {
		return validationError(policyName, "policyName", "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
	}
	if document == "" {
		return errf("ValidationError", "1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null")
	}
	r := a.Roles[roleName]
	if r == nil {
		return noSuchRole(roleName)
	}
	if r.ServiceName != "" {
		return errf("UnmodifiableEntity", "Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", roleName)
	}
	if aerr := validateIdentityPolicy(document); aerr != nil {
		return aerr
	}
	total := policyChars(document)
	for name, doc := range r.Policies {
		if name != policyName {
			total += policyChars(doc)
		}
	}
	if total > maxInlineRolePolicyChars {
		return errStatus(409, "LimitExceeded", "Maximum policy size of %d bytes exceeded for role %s", maxInlineRolePolicyChars, roleName)
	}
	if r.Policies == nil {
		r.Policies = map[string]string{}
	}
	r.Policies[policyName] = document
	s.dirty = true
	return nil
}

// PutRolePolicy gives a role an inline identity policy, as IAM's
// PutRolePolicy does. A role with at least one identity policy may do only
// what its policies allow.
func (s *Sandbox) PutRolePolicy(accountID, roleName, policyName, document string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[accountID]
	if a == nil {
		return fmt.Errorf("put policy %s on sandbox role %s: account %s does not exist", policyName, roleName, accountID)
	}
	if aerr := s.putRolePolicyLocked(a, roleName, policyName, document); aerr != nil {
		return fmt.Errorf("put policy %s on sandbox role %s in %s: %w", policyName, roleName, accountID, aerr)
	}
	return s.commit()
}

// DeleteRolePolicy removes a role's inline identity policy.
func (s *Sandbox) DeleteRolePolicy(accountID, roleName, policyName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[accountID]
	if a == nil {
		return fmt.Errorf("delete policy %s of sandbox role %s: account %s does not exist", policyName, roleName, accountID)
	}
	r := a.Roles[roleName]
	if r == nil || r.Policies[policyName] == "" {
		return fmt.Errorf("delete policy %s of sandbox role %s in %s: no such policy", policyName, roleName, accountID)
	}
	delete(r.Policies, policyName)
	s.dirty = true
	return s.commit()
}

func (s *Sandbox) iamPutRolePolicy(c *caller, form url.Values) (queryResult, *apiError) {
	return nil, s.putRolePolicyLocked(c.account, form.Get("RoleName"), form.Get("PolicyName"), form.Get("PolicyDocument"))
}

func noSuchRolePolicy(policyName string) *apiError {
	return errStatus(404, "NoSuchEntity", "The role policy with name %s cannot be found.", policyName)
}

type rolePolicyResult struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func (s *Sandbox) iamGetRolePolicy(c *caller, form url.Values) (queryResult, *apiError) {
	roleName, policyName := form.Get("RoleName"), form.Get("PolicyName")
	r, aerr := c.role(roleName)
	if aerr != nil {
		return nil, aerr
	}
	doc, ok := r.Policies[policyName]
	if !ok {
		return nil, noSuchRolePolicy(policyName)
	}
	return rolePolicyResult{RoleName: roleName, PolicyName: policyName, PolicyDocument: iamPolicyEscape(doc)}, nil
}

func (s *Sandbox) iamDeleteRolePolicy(c *caller, form url.Values) (queryResult, *apiError) {
	roleName, policyName := form.Get("RoleName"), form.Get("PolicyName")
	r, aerr := c.role(roleName)
	if aerr != nil {
		return nil, aerr
	}
	if r.ServiceName != "" {
		return nil, errf("UnmodifiableEntity", "Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", roleName)
	}
	if _, ok := r.Policies[policyName]; !ok {
		return nil, noSuchRolePolicy(policyName)
	}
	delete(r.Policies, policyName)
	s.dirty = true
	return nil, nil
}

type listRolePoliciesResult struct {
	PolicyNames queryList[string] `xml:"PolicyNames"`
	IsTruncated bool              `xml:"IsTruncated"`
}

func (s *Sandbox) iamListRolePolicies(c *caller, form url.Values) (queryResult, *apiError) {
	r, aerr := c.role(form.Get("RoleName"))
	if aerr != nil {
		return nil, aerr
	}
	var out listRolePoliciesResult
	out.PolicyNames.Members = sortedKeys(r.Policies)
	return out, nil
}

type simulateResult struct {
	EvaluationResults queryList[evaluationResult] `xml:"EvaluationResults"`
	IsTruncated       bool                        `xml:"IsTruncated"`
}

type evaluationResult struct {
	EvalActionName       string                      `xml:"EvalActionName"`
	EvalResourceName     string                      `xml:"EvalResourceName"`
	EvalDecision         string                      `xml:"EvalDecision"`
	MatchedStatements    queryList[matchedStatement] `xml:"MatchedStatements"`
	MissingContextValues queryList[string]           `xml:"MissingContextValues"`
}

type matchedStatement struct {
	SourcePolicyID   string `xml:"SourcePolicyId"`
	SourcePolicyType string `xml:"SourcePolicyType"`
}

// formList is a Query list parameter: name.member.1, name.member.2, ...
func formList(form url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[fmt.Sprintf("%s.member.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// simulatedPrincipal is a principal whose policies the simulator evaluates:
// its identity policies, or, unrestricted, everything allowed.
type simulatedPrincipal struct {
	policies     []namedPolicy
	unrestricted bool
}

// simulatedPrincipalLocked resolves PolicySourceArn in the caller's account.
func (s *Sandbox) simulatedPrincipalLocked(c *caller, arn string) (simulatedPrincipal, *apiError) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	acctID, res, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return simulatedPrincipal{}, errf("InvalidInput", "Invalid ARN: %s", arn)
	}
	if acctID != c.account.ID {
		return simulatedPrincipal{}, errf("InvalidInput", "Policy source %s is not in account %s.", arn, c.account.ID)
	}
	if name, ok := strings.CutPrefix(res, "role/"); ok {
		name = name[strings.LastIndex(name, "/")+1:]
		r := c.account.Roles[name]
		if r == nil || roleARN(c.account.ID, r) != arn {
			return simulatedPrincipal{}, noSuchRole(name)
		}
		p := simulatedPrincipal{unrestricted: len(r.Policies) == 0}
		for _, pn := range sortedKeys(r.Policies) {
			doc, err := parsePolicy(r.Policies[pn])
			if err != nil {
				doc = &policyDocument{}
			}
			p.policies = append(p.policies, namedPolicy{name: pn, doc: doc})
		}
		return p, nil
	}
	if name, ok := strings.CutPrefix(res, "user/"); ok {
		name = name[strings.LastIndex(name, "/")+1:]
		switch {
		case name == c.account.UserName:
			return simulatedPrincipal{unrestricted: true}, nil
		case c.account.Users[name] != nil:
			return simulatedPrincipal{}, nil
		}
		return simulatedPrincipal{}, errStatus(404, "NoSuchEntity", "The user with name %s cannot be found.", name)
	}
	return simulatedPrincipal{}, errf("InvalidInput", "Policy source %s is neither a user nor a role.", arn)
}

// iamSimulatePrincipalPolicy evaluates a role's or user's identity policies
// for each action on each resource, with the context entries given. A role
// without identity policies is simulated as the sandbox treats it: allowed
// everything.
func (s *Sandbox) iamSimulatePrincipalPolicy(c *caller, form url.Values) (queryResult, *apiError) {
	source := form.Get("PolicySourceArn")
	if source == "" {
		return nil, errf("ValidationError", "1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null")
	}
	actions := formList(form, "ActionNames")
	if len(actions) == 0 {
		return nil, errf("ValidationError", "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	resources := formList(form, "ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	ctx := map[string][]string{}
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("ContextEntries.member.%d.", i)
		key, ok := form[prefix+"ContextKeyName"]
		if !ok {
			break
		}
		ctx[key[0]] = formList(form, prefix+"ContextKeyValues")
	}
	principal, aerr := s.simulatedPrincipalLocked(c, source)
	if aerr != nil {
		return nil, aerr
	}
	for i, text := range formList(form, "PolicyInputList") {
		if aerr := validateIdentityPolicy(text); aerr != nil {
			return nil, aerr
		}
		doc, _ := parsePolicy(text)
		principal.policies = append(principal.policies, namedPolicy{name: fmt.Sprintf("PolicyInputList.%d", i+1), doc: doc})
		principal.unrestricted = false
	}
	var out simulateResult
	for _, action := range actions {
		if !strings.Contains(action, ":") {
			return nil, errf("InvalidInput", "Action %s is not valid: actions are prefixed by their service, e.g. iam:GetRole.", action)
		}
		for _, res := range resources {
			result := evaluationResult{EvalActionName: action, EvalResourceName: res}
			if principal.unrestricted {
				result.EvalDecision = allowed.String()
				out.EvaluationResults.Members = append(out.EvaluationResults.Members, result)
				continue
			}
			req := accessRequest{action: action, resource: res, context: ctx}
			d := implicitDeny
			var matched []matchedStatement
			var missing []string
			for _, p := range principal.policies {
				got, _ := p.doc.decide(req)
				if got != implicitDeny && got >= d {
					if got > d {
						matched = nil
					}
					matched = append(matched, matchedStatement{SourcePolicyID: p.name, SourcePolicyType: "role"})
				}
				d = d.combine(got)
				for _, k := range p.doc.missingContext(req) {
					if !slices.Contains(missing, k) {
						missing = append(missing, k)
					}
				}
			}
			result.EvalDecision = d.String()
			result.MatchedStatements.Members = matched
			result.MissingContextValues.Members = missing
			out.EvaluationResults.Members = append(out.EvaluationResults.Members, result)
		}
	}
	return out, nil
}
