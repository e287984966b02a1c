package awssandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// call is one served request as IAM sees it: the operation, the IAM action
// it needs, the resources it acts on and the service's condition keys. The
// same description authorizes the request and names it in its management
// event.
type call struct {
	// operation is the API operation (EnableAWSServiceAccess); empty when
	// the service has no such operation.
	operation string
	// action is the IAM action (organizations:EnableAWSServiceAccess; for
	// S3's HeadBucket, s3:ListBucket).
	action string
	// resources are the ARNs acted on; "*" for actions without
	// resource-level permissions.
	resources []string
	// context holds the service's condition keys (iam:AWSServiceName,
	// organizations:ServicePrincipal).
	context map[string][]string
}

// globalServices are logged in us-east-1 whatever the region called.
var globalServices = map[string]bool{"organizations": true, "iam": true, "sts": true}

// describeCall works out what a request asks for and, for a role session,
// loads the role's identity policies; it sets c.call and c.policies.
func (s *Sandbox) describeCall(r *http.Request, c *caller, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.call = s.describe(r, c, body)
	c.policies = nil
	if !c.key.temporary() {
		return
	}
	role := c.account.Roles[c.key.RoleName]
	if role == nil {
		return
	}
	for _, name := range sortedKeys(role.Policies) {
		// Documents are validated when they are put; one that no longer
		// parses denies nothing and allows nothing.
		doc, err := parsePolicy(role.Policies[name])
		if err != nil {
			doc = &policyDocument{}
		}
		c.policies = append(c.policies, namedPolicy{name: name, doc: doc})
	}
}

// namedPolicy is one identity policy of a role.
type namedPolicy struct {
	name string
	doc  *policyDocument
}

func (s *Sandbox) describe(r *http.Request, c *caller, body []byte) call {
	switch c.service {
	case "organizations", "cloudtrail":
		return s.describeJSON(r, c, body)
	case "iam", "sts":
		form, _ := url.ParseQuery(string(body))
		return s.describeQuery(c, form)
	case "s3":
		bucketName, op := s3Operation(r)
		return describeS3(op, bucketName)
	}
	return call{}
}

func (s *Sandbox) describeJSON(r *http.Request, c *caller, body []byte) call {
	target := r.Header.Get("X-Amz-Target")
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	str := func(k string) string { v, _ := in[k].(string); return v }
	out := call{resources: []string{"*"}, context: map[string][]string{}}
	op, h := jsonOperation(c.service, target)
	if h == nil {
		return call{}
	}
	out.operation, out.action = op, c.service+":"+op
	switch c.service {
	case "organizations":
		if p := str("ServicePrincipal"); p != "" {
			out.context["organizations:ServicePrincipal"] = []string{p}
		}
		if id := str("AccountId"); id != "" && strings.Contains(op, "DelegatedAdministrator") {
			if o := s.organizationOf(c.account); o != nil {
				out.resources = []string{o.accountARN(id)}
			}
		}
	case "cloudtrail":
		switch op {
		case "CreateTrail", "UpdateTrail", "DeleteTrail", "GetTrail", "GetTrailStatus", "StartLogging", "StopLogging":
			if name := str("Name"); strings.HasPrefix(name, "arn:") {
				out.resources = []string{name}
			} else if name != "" {
				out.resources = []string{trailARN(c.region, c.account.ID, name)}
			}
		case "GetEventDataStore":
			if id := str("EventDataStore"); strings.HasPrefix(id, "arn:") {
				out.resources = []string{id}
			} else if id != "" {
				out.resources = []string{"arn:aws:cloudtrail:" + c.region + ":" + c.account.ID + ":eventdatastore/" + id}
			}
		}
	}
	return out
}

func (s *Sandbox) describeQuery(c *caller, form url.Values) call {
	op := form.Get("Action")
	if queryServices[c.service].operations[op] == nil {
		return call{}
	}
	out := call{operation: op, action: c.service + ":" + op, resources: []string{"*"}, context: map[string][]string{}}
	roleNamed := func(name, path string) string {
		if r := c.account.Roles[name]; r != nil {
			return roleARN(c.account.ID, r)
		}
		if path == "" {
			path = "/"
		}
		return "arn:aws:iam::" + c.account.ID + ":role" + path + name
	}
	switch op {
	case "GetRole", "DeleteServiceLinkedRole", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy", "ListRolePolicies":
		out.resources = []string{roleNamed(form.Get("RoleName"), "")}
	case "CreateRole":
		out.resources = []string{roleNamed(form.Get("RoleName"), form.Get("Path"))}
	case "CreateServiceLinkedRole":
		service := form.Get("AWSServiceName")
		out.context["iam:AWSServiceName"] = []string{service}
		out.resources = []string{"arn:aws:iam::" + c.account.ID + ":role/aws-service-role/" + service + "/" + serviceLinkedRoles[service]}
	case "SimulatePrincipalPolicy":
		if arn := form.Get("PolicySourceArn"); arn != "" {
			out.resources = []string{arn}
		}
	case "AssumeRole":
		if arn := form.Get("RoleArn"); arn != "" {
			out.resources = []string{arn}
		}
		out.context["sts:RoleSessionName"] = []string{form.Get("RoleSessionName")}
		if form.Has("SourceIdentity") {
			out.context["sts:SourceIdentity"] = []string{form.Get("SourceIdentity")}
		}
	}
	return out
}

// s3Actions are the IAM actions of S3 operations named otherwise.
var s3Actions = map[string]string{
	"ListBuckets": "s3:ListAllMyBuckets",
	"HeadBucket":  "s3:ListBucket",
}

func describeS3(op, bucketName string) call {
	if op == "" {
		return call{}
	}
	action := s3Actions[op]
	if action == "" {
		action = "s3:" + op
	}
	out := call{operation: op, action: action, resources: []string{"*"}}
	if bucketName != "" {
		out.resources = []string{"arn:aws:s3:::" + bucketName}
	}
	return out
}

// requestContext is the request's global condition keys merged with extra.
func (c *caller) requestContext(extra map[string][]string) map[string][]string {
	ctx := map[string][]string{
		"aws:PrincipalArn":     {c.principalARN()},
		"aws:PrincipalAccount": {c.account.ID},
		"aws:userid":           {c.userID()},
		"aws:RequestedRegion":  {c.region},
	}
	if c.key.temporary() {
		ctx["aws:PrincipalType"] = []string{"AssumedRole"}
	} else {
		ctx["aws:PrincipalType"] = []string{"User"}
	}
	if c.key.SourceIdentity != "" {
		ctx["aws:SourceIdentity"] = []string{c.key.SourceIdentity}
	}
	for k, v := range extra {
		ctx[k] = v
	}
	return ctx
}

// restricted reports whether the caller's permissions come from identity
// policies: a session of a role that has at least one. Sessions of roles
// without any keep the sandbox's older rule and may do everything.
func (c *caller) restricted() bool {
	return c.key.temporary() && len(c.policies) > 0
}

// evaluate decides one action on one resource by the caller's identity
// policies, with the request's context.
func (c *caller) evaluate(action, resource string, extra map[string][]string) decision {
	if !c.restricted() {
		return allowed
	}
	return evaluatePolicies(c.policies, accessRequest{
		action:   action,
		resource: resource,
		context:  c.requestContext(extra),
	})
}

func evaluatePolicies(policies []namedPolicy, req accessRequest) decision {
	d := implicitDeny
	for _, p := range policies {
		got, _ := p.doc.decide(req)
		d = d.combine(got)
	}
	return d
}

// authorizeSession refuses a call the caller's identity policies do not
// allow on every resource it acts on, with the service's AccessDenied.
func (c *caller) authorizeSession() *apiError {
	if !c.restricted() || c.call.action == "" || c.call.action == "sts:GetCallerIdentity" {
		return nil
	}
	for _, res := range c.call.resources {
		if d := c.evaluate(c.call.action, res, c.call.context); d != allowed {
			return c.accessDenied(c.call.action, res, d)
		}
	}
	return nil
}

// accessDenied is the error of a call identity policies refuse, in the
// shape of the caller's service and with AWS's wording.
func (c *caller) accessDenied(action, resource string, d decision) *apiError {
	msg := "User: " + c.arn() + " is not authorized to perform: " + action
	if resource != "*" && resource != "" {
		msg += " on resource: " + resource
	}
	if d == explicitDeny {
		msg += " with an explicit deny in an identity-based policy"
	} else {
		msg += " because no identity-based policy allows the " + action + " action"
	}
	switch serviceProtocol(c.service) {
	case protoQuery, protoS3:
		return errStatus(http.StatusForbidden, "AccessDenied", "%s", msg)
	}
	return errf("AccessDeniedException", "%s", msg)
}

// missingPermission is the first of actions (each with its resource and
// context) the caller's identity policies do not allow, or "": for
// operations that need permissions besides their own, as CloudTrail's
// RegisterOrganizationDelegatedAdmin does.
func (c *caller) missingPermission(needs []call) string {
	for _, n := range needs {
		for _, res := range n.resources {
			if c.evaluate(n.action, res, n.context) != allowed {
				return n.action
			}
		}
	}
	return ""
}

// resourceType names the CloudTrail resource type of an ARN, by its service and
// resource kind, for LookupEvents' Resources.
func resourceType(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	kind, _, _ := strings.Cut(parts[5], "/")
	switch parts[2] + ":" + kind {
	case "cloudtrail:trail":
		return "AWS::CloudTrail::Trail"
	case "cloudtrail:eventdatastore":
		return "AWS::CloudTrail::EventDataStore"
	case "iam:role":
		return "AWS::IAM::Role"
	case "iam:user":
		return "AWS::IAM::User"
	case "organizations:account":
		return "AWS::Organizations::Account"
	}
	if parts[2] == "s3" {
		return "AWS::S3::Bucket"
	}
	return ""
}

// eventResources are the resources of a call as LookupEvents lists them.
func (cl call) eventResources() []eventResource {
	var out []eventResource
	for _, arn := range cl.resources {
		typ := resourceType(arn)
		if typ == "" {
			continue
		}
		name := arn
		if typ == "AWS::S3::Bucket" {
			name = strings.TrimPrefix(arn, "arn:aws:s3:::")
		}
		out = append(out, eventResource{Type: typ, Name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
