package awssandbox

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// serviceLinkedRoles names the service-linked role of each service that has
// one in the sandbox.
var serviceLinkedRoles = map[string]string{
	"cloudtrail.amazonaws.com":      "AWSServiceRoleForCloudTrail",
	"organizations.amazonaws.com":   "AWSServiceRoleForOrganizations",
	"config.amazonaws.com":          "AWSServiceRoleForConfig",
	"guardduty.amazonaws.com":       "AWSServiceRoleForAmazonGuardDuty",
	"securityhub.amazonaws.com":     "AWSServiceRoleForSecurityHub",
	"access-analyzer.amazonaws.com": "AWSServiceRoleForAccessAnalyzer",
	"sso.amazonaws.com":             "AWSServiceRoleForSSO",
}

// cloudTrailRole is the service-linked role organization trails depend on.
const (
	cloudTrailPrincipal = "cloudtrail.amazonaws.com"
	cloudTrailRole      = "AWSServiceRoleForCloudTrail"
)

var (
	roleNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathPattern = regexp.MustCompile(`^(/|/[\x21-\x7E]*/)$`)
)

// role is the role of the caller's account named name.
func (c *caller) role(name string) (*role, *apiError) {
	r := c.account.Roles[name]
	if r == nil {
		return nil, noSuchRole(name)
	}
	return r, nil
}

func roleARN(accountID string, r *role) string {
	return "arn:aws:iam::" + accountID + ":role" + r.Path + r.Name
}

// iamRole is the Role element of IAM responses.
type iamRole struct {
	Path                     string             `xml:"Path"`
	RoleName                 string             `xml:"RoleName"`
	RoleID                   string             `xml:"RoleId"`
	Arn                      string             `xml:"Arn"`
	CreateDate               string             `xml:"CreateDate"`
	AssumeRolePolicyDocument string             `xml:"AssumeRolePolicyDocument"`
	Description              string             `xml:"Description,omitempty"`
	MaxSessionDuration       int                `xml:"MaxSessionDuration"`
	Tags                     *queryList[iamTag] `xml:"Tags,omitempty"`
	RoleLastUsed             *iamLastUsed       `xml:"RoleLastUsed"`
}

type iamTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type iamLastUsed struct {
	LastUsedDate string `xml:"LastUsedDate,omitempty"`
	Region       string `xml:"Region,omitempty"`
}

// iamPolicyEscape URL-encodes a policy document as IAM returns it.
func iamPolicyEscape(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func exportRole(accountID string, r *role) iamRole {
	out := iamRole{
		Path:                     r.Path,
		RoleName:                 r.Name,
		RoleID:                   r.ID,
		Arn:                      roleARN(accountID, r),
		CreateDate:               isoTime(r.CreatedAt),
		AssumeRolePolicyDocument: iamPolicyEscape(r.TrustPolicy),
		Description:              r.Description,
		MaxSessionDuration:       r.MaxSessionDuration,
		RoleLastUsed:             &iamLastUsed{},
	}
	if len(r.Tags) > 0 {
		out.Tags = &queryList[iamTag]{}
		for _, t := range r.Tags {
			out.Tags.Members = append(out.Tags.Members, iamTag(t))
		}
	}
	return out
}

type roleResult struct {
	Role iamRole `xml:"Role"`
}

func noSuchRole(name string) *apiError {
	return errStatus(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

func (s *Sandbox) iamGetRole(c *caller, form url.Values) (queryResult, *apiError) {
	name := form.Get("RoleName")
	if !roleNamePattern.MatchString(name) {
		return nil, errf("ValidationError", "1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	r, aerr := c.role(name)
	if aerr != nil {
		return nil, aerr
	}
	return roleResult{Role: exportRole(c.account.ID, r)}, nil
}

func (s *Sandbox) iamCreateRole(c *caller, form url.Values) (queryResult, *apiError) {
	name := form.Get("RoleName")
	if !roleNamePattern.MatchString(name) {
		return nil, errf("ValidationError", "1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	path := form.Get("Path")
	if path == "" {
		path = "/"
	}
	if !rolePathPattern.MatchString(path) || strings.HasPrefix(path, "/aws-service-role/") {
		return nil, errf("ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	maxSession := 3600
	if v := form.Get("MaxSessionDuration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3600 || n > 43200 {
			return nil, errf("ValidationError", "1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", v)
		}
		maxSession = n
	}
	var tags []tag
	for i := 1; ; i++ {
		k, ok := form[fmt.Sprintf("Tags.member.%d.Key", i)]
		if !ok {
			break
		}
		tags = append(tags, tag{Key: k[0], Value: form.Get(fmt.Sprintf("Tags.member.%d.Value", i))})
	}
	r, aerr := s.createRoleLocked(c.account, name, path, form.Get("AssumeRolePolicyDocument"), form.Get("Description"), maxSession, tags, "")
	if aerr != nil {
		return nil, aerr
	}
	return roleResult{Role: exportRole(c.account.ID, r)}, nil
}

// createRoleLocked validates and creates a role; the caller holds s.mu.
func (s *Sandbox) createRoleLocked(a *account, name, path, trust, description string, maxSession int, tags []tag, serviceName string) (*role, *apiError) {
	if trust == "" {
		return nil, errf("ValidationError", "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
	}
	if aerr := s.validateTrustPolicy(trust); aerr != nil {
		return nil, aerr
	}
	for existing := range a.Roles {
		if strings.EqualFold(existing, name) {
			return nil, errStatus(409, "EntityAlreadyExists", "Role with name %s already exists.", name)
		}
	}
	r := &role{
		Name:               name,
		ID:                 s.ids.roleID(),
		Path:               path,
		TrustPolicy:        trust,
		Description:        description,
		MaxSessionDuration: maxSession,
		CreatedAt:          s.now(),
		Tags:               tags,
		ServiceName:        serviceName,
	}
	a.Roles[name] = r
	s.dirty = true
	return r, nil
}

// validateTrustPolicy checks a trust policy as IAM does: valid grammar, a
// principal in every statement, no resource, and principals that exist.
func (s *Sandbox) validateTrustPolicy(text string) *apiError {
	return checkResourcePolicy(text, "MalformedPolicyDocument", "AssumeRolepolicy contained an invalid principal: missing Principal", func(st policyStatement) *apiError {
		if len(st.Resource) > 0 || len(st.NotResource) > 0 {
			return errf("MalformedPolicyDocument", "Has prohibited field Resource")
		}
		if st.Principal == nil || st.Principal.Any {
			return nil
		}
		for _, p := range st.Principal.Kinds["AWS"] {
			if !s.principalExists(p) {
				return errf("MalformedPolicyDocument", "Invalid principal in policy: \"AWS\":\"%s\"", p)
			}
		}
		return nil
	})
}

var accountIDPattern = regexp.MustCompile(`^\d{12}$`)

// principalExists reports whether an AWS principal in a policy names
// something that exists: IAM resolves user and role ARNs when a policy is
// saved and refuses ones that do not.
func (s *Sandbox) principalExists(p string) bool {
	if p == "*" || accountIDPattern.MatchString(p) {
		return true
	}
	rest, ok := strings.CutPrefix(p, "arn:aws:iam::")
	if !ok {
		return false
	}
	acctID, res, ok := strings.Cut(rest, ":")
	if !ok || !accountIDPattern.MatchString(acctID) {
		return false
	}
	if res == "root" {
		return true
	}
	a := s.st.Accounts[acctID]
	if a == nil {
		return false
	}
	if user, ok := strings.CutPrefix(res, "user/"); ok {
		name := user[strings.LastIndex(user, "/")+1:]
		return name == a.UserName || a.Users[name] != nil
	}
	if rname, ok := strings.CutPrefix(res, "role/"); ok {
		return a.Roles[rname[strings.LastIndex(rname, "/")+1:]] != nil
	}
	return false
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s *Sandbox) iamCreateServiceLinkedRole(c *caller, form url.Values) (queryResult, *apiError) {
	service := form.Get("AWSServiceName")
	name, ok := serviceLinkedRoles[service]
	if !ok {
		return nil, errf("InvalidInput", "Unknown service name: %s", service)
	}
	if suffix := form.Get("CustomSuffix"); suffix != "" {
		return nil, errf("InvalidInput", "Custom suffix is not allowed for %s", service)
	}
	if c.account.Roles[name] != nil {
		return nil, errf("InvalidInput", "Service role name %s has been taken in this account, please try a different suffix.", name)
	}
	r, aerr := s.createServiceLinkedRoleLocked(c.account, service, form.Get("Description"))
	if aerr != nil {
		return nil, aerr
	}
	return roleResult{Role: exportRole(c.account.ID, r)}, nil
}

// createServiceLinkedRoleLocked creates a known service's linked role in a;
// the caller holds s.mu and has checked that it does not exist.
func (s *Sandbox) createServiceLinkedRoleLocked(a *account, service, description string) (*role, *apiError) {
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":[%q]},"Action":["sts:AssumeRole"]}]}`, service)
	return s.createRoleLocked(a, serviceLinkedRoles[service], "/aws-service-role/"+service+"/", trust, description, 3600, nil, service)
}

type deleteSLRResult struct {
	DeletionTaskID string `xml:"DeletionTaskId"`
}

func (s *Sandbox) iamDeleteServiceLinkedRole(c *caller, form url.Values) (queryResult, *apiError) {
	name := form.Get("RoleName")
	r, aerr := c.role(name)
	if aerr != nil {
		return nil, aerr
	}
	if r.ServiceName == "" {
		return nil, errf("InvalidInput", "Role %s is not a service-linked role.", name)
	}
	task := &deletionTask{
		ID:        "task" + r.Path + r.Name + "/" + s.ids.uuid(),
		AccountID: c.account.ID,
		CreatedAt: s.now(),
		Status:    "SUCCEEDED",
	}
	// CloudTrail's role stays while CloudTrail still works with the
	// organization: trusted access must be disabled first.
	if r.ServiceName == cloudTrailPrincipal {
		if o := s.organizationOf(c.account); o != nil && o.trustedAccess(cloudTrailPrincipal) {
			task.Status = "FAILED"
			task.Reason = "The service-linked role is in use: trusted access between AWS CloudTrail and AWS Organizations is enabled."
			task.Region = c.region
			task.Resources = []string{o.arn()}
		}
	}
	if task.Status == "SUCCEEDED" {
		delete(c.account.Roles, name)
	}
	s.st.DeletionTasks[task.ID] = task
	s.dirty = true
	return deleteSLRResult{DeletionTaskID: task.ID}, nil
}

type deletionStatusResult struct {
	Status string          `xml:"Status"`
	Reason *deletionReason `xml:"Reason,omitempty"`
}

type deletionReason struct {
	Reason        string                `xml:"Reason"`
	RoleUsageList *queryList[roleUsage] `xml:"RoleUsageList,omitempty"`
}

type roleUsage struct {
	Region    string             `xml:"Region"`
	Resources *queryList[string] `xml:"Resources"`
}

var deletionTaskPattern = regexp.MustCompile(`^task/aws-service-role/[^/]+/[^/]+/[0-9a-f-]{36}$`)

func (s *Sandbox) iamGetServiceLinkedRoleDeletionStatus(c *caller, form url.Values) (queryResult, *apiError) {
	id := form.Get("DeletionTaskId")
	if !deletionTaskPattern.MatchString(id) {
		return nil, errf("InvalidInput", "Invalid deletion task id: %s", id)
	}
	task := s.st.DeletionTasks[id]
	if task == nil || task.AccountID != c.account.ID {
		return nil, errStatus(404, "NoSuchEntity", "Deletion task %s cannot be found.", id)
	}
	out := deletionStatusResult{Status: task.Status}
	if task.Status == "FAILED" {
		res := append([]string(nil), task.Resources...)
		sort.Strings(res)
		out.Reason = &deletionReason{
			Reason:        task.Reason,
			RoleUsageList: &queryList[roleUsage]{Members: []roleUsage{{Region: task.Region, Resources: &queryList[string]{Members: res}}}},
		}
	}
	return out, nil
}
