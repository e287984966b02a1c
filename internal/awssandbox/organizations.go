package awssandbox

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// trustedAccessPrincipals are the service principals that can be given
// trusted access to an organization.
var trustedAccessPrincipals = map[string]bool{
	"access-analyzer.amazonaws.com":                     true,
	"account.amazonaws.com":                             true,
	"backup.amazonaws.com":                              true,
	"cloudtrail.amazonaws.com":                          true,
	"compute-optimizer.amazonaws.com":                   true,
	"config.amazonaws.com":                              true,
	"config-multiaccountsetup.amazonaws.com":            true,
	"controltower.amazonaws.com":                        true,
	"detective.amazonaws.com":                           true,
	"ds.amazonaws.com":                                  true,
	"fms.amazonaws.com":                                 true,
	"guardduty.amazonaws.com":                           true,
	"health.amazonaws.com":                              true,
	"inspector2.amazonaws.com":                          true,
	"ipam.amazonaws.com":                                true,
	"license-manager.amazonaws.com":                     true,
	"macie.amazonaws.com":                               true,
	"member.org.stacksets.cloudformation.amazonaws.com": true,
	"ram.amazonaws.com":                                 true,
	"reporting.trustedadvisor.amazonaws.com":            true,
	"securityhub.amazonaws.com":                         true,
	"servicecatalog.amazonaws.com":                      true,
	"ssm.amazonaws.com":                                 true,
	"sso.amazonaws.com":                                 true,
	"storage-lens.s3.amazonaws.com":                     true,
	"tagpolicies.tag.amazonaws.com":                     true,
}

// delegatedAdminLimits is how many delegated administrators a service may
// have; services not listed allow one.
var delegatedAdminLimits = map[string]int{
	"cloudtrail.amazonaws.com": 3,
	"config.amazonaws.com":     3,
}

func errNotInOrganization() *apiError {
	return errf("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
}

func errOrgAccessDenied() *apiError {
	return errf("AccessDeniedException", "You don't have permissions to access this resource.")
}

func errConstraint(reason, message string) *apiError {
	return errf("ConstraintViolationException", "%s", message).with("Reason", reason)
}

func errInvalidInput(reason, message string) *apiError {
	return errf("InvalidInputException", "%s", message).with("Reason", reason)
}

// callerOrganization is the caller's organization.
func (s *Sandbox) callerOrganization(c *caller) (*organization, *apiError) {
	o := s.organizationOf(c.account)
	if o == nil {
		return nil, errNotInOrganization()
	}
	return o, nil
}

// orgCallers says who may make an Organizations call.
type orgCallers int

const (
	managementOnly orgCallers = iota
	// managementAndDelegates lets delegated administrators read the
	// organization too.
	managementAndDelegates
)

// requireManagement allows the management account and, as who says,
// delegated administrators.
func (s *Sandbox) requireManagement(c *caller, who orgCallers) (*organization, *apiError) {
	o, aerr := s.callerOrganization(c)
	if aerr != nil {
		return nil, aerr
	}
	if c.account.ID != o.ManagementAccountID && !(who == managementAndDelegates && o.isDelegate(c.account.ID, "")) {
		return nil, errOrgAccessDenied()
	}
	return o, nil
}

// isDelegate reports whether account is a delegated administrator, for
// principal or (principal empty) for any service.
func (o *organization) isDelegate(accountID, principal string) bool {
	for p, t := range o.Delegations[accountID] {
		if t.On && (principal == "" || p == principal) {
			return true
		}
	}
	return false
}

func validPrincipal(p string) *apiError {
	if p == "" {
		return errInvalidInput("INPUT_REQUIRED", "You must specify a value for ServicePrincipal.")
	}
	if !trustedAccessPrincipals[p] {
		return errInvalidInput("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified an unrecognized service principal.")
	}
	return nil
}

func requireAllFeatures(o *organization) *apiError {
	if o.FeatureSet != "ALL" {
		return errConstraint("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
			"You attempted to perform an operation that requires the organization to be configured to support all features. An organization that supports only consolidated billing features can't perform this operation.")
	}
	return nil
}

type orgJSON struct {
	ID                   string   `json:"Id"`
	Arn                  string   `json:"Arn"`
	FeatureSet           string   `json:"FeatureSet"`
	MasterAccountArn     string   `json:"MasterAccountArn"`
	MasterAccountID      string   `json:"MasterAccountId"`
	MasterAccountEmail   string   `json:"MasterAccountEmail"`
	AvailablePolicyTypes []string `json:"AvailablePolicyTypes"`
}

func (s *Sandbox) exportOrgJSON(o *organization) orgJSON {
	mgmt := s.st.Accounts[o.ManagementAccountID]
	return orgJSON{
		ID:                   o.ID,
		Arn:                  o.arn(),
		FeatureSet:           o.FeatureSet,
		MasterAccountArn:     o.accountARN(mgmt.ID),
		MasterAccountID:      mgmt.ID,
		MasterAccountEmail:   mgmt.Email,
		AvailablePolicyTypes: []string{},
	}
}

type createOrganizationInput struct{ FeatureSet string }

func (s *Sandbox) orgCreateOrganization(c *caller, req createOrganizationInput) (any, *apiError) {
	if req.FeatureSet == "" {
		req.FeatureSet = "ALL"
	}
	if req.FeatureSet != "ALL" && req.FeatureSet != "CONSOLIDATED_BILLING" {
		return nil, errInvalidInput("INVALID_ENUM", "You specified an invalid value.")
	}
	if c.account.OrganizationID != "" {
		return nil, errf("AlreadyInOrganizationException", "This account is already a member of an organization.")
	}
	o := s.createOrganizationLocked(c.account, req.FeatureSet)
	o.Label = c.account.Name
	return map[string]any{"Organization": s.exportOrgJSON(o)}, nil
}

func (s *Sandbox) orgDescribeOrganization(c *caller, in json.RawMessage) (any, *apiError) {
	o, aerr := s.callerOrganization(c)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"Organization": s.exportOrgJSON(o)}, nil
}

// pageRequest is the pagination of Organizations List* calls.
type pageRequest struct {
	NextToken  *string
	MaxResults *int
}

var pageTokenPattern = regexp.MustCompile(`^p(\d+)$`)

// page cuts [0, n) into the requested page: MaxResults within [1, limit]
// (default limit), NextToken from the previous page.
func page(n int, req pageRequest, limit int, badMax func(int) *apiError, badToken func() *apiError) (int, int, *string, *apiError) {
	size := limit
	if req.MaxResults != nil {
		size = *req.MaxResults
		if size < 1 || size > limit {
			return 0, 0, nil, badMax(size)
		}
	}
	start := 0
	if req.NextToken != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*req.NextToken)
		m := pageTokenPattern.FindSubmatch(raw)
		if err != nil || m == nil {
			return 0, 0, nil, badToken()
		}
		start, _ = strconv.Atoi(string(m[1]))
		if start > n {
			return 0, 0, nil, badToken()
		}
	}
	end := min(start+size, n)
	var next *string
	if end < n {
		t := base64.RawURLEncoding.EncodeToString([]byte("p" + strconv.Itoa(end)))
		next = &t
	}
	return start, end, next, nil
}

func orgPage(n int, req pageRequest) (int, int, *string, *apiError) {
	return page(n, req, 20, func(v int) *apiError {
		if v < 1 {
			return errInvalidInput("MIN_VALUE_EXCEEDED", "You provided a value that is too small: MaxResults must be at least 1.")
		}
		return errInvalidInput("MAX_VALUE_EXCEEDED", "You provided a value that is too large: MaxResults must be at most 20.")
	}, func() *apiError {
		return errInvalidInput("INVALID_NEXT_TOKEN", "You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API.")
	})
}

type accountJSON struct {
	ID              string        `json:"Id"`
	Arn             string        `json:"Arn"`
	Email           string        `json:"Email"`
	Name            string        `json:"Name"`
	Status          string        `json:"Status"`
	State           string        `json:"State"`
	JoinedMethod    string        `json:"JoinedMethod"`
	JoinedTimestamp *epochSeconds `json:"JoinedTimestamp,omitempty"`
}

func exportAccountJSON(o *organization, a *account) accountJSON {
	return accountJSON{
		ID: a.ID, Arn: o.accountARN(a.ID), Email: a.Email, Name: a.Name,
		Status: "ACTIVE", State: "ACTIVE", JoinedMethod: a.JoinedMethod, JoinedTimestamp: epoch(a.JoinedAt),
	}
}

// orgList answers a List* call, which the management account and delegated
// administrators may make: list is what the organization shows at now, and
// the page asked for goes out as name.
func orgList[T any](s *Sandbox, c *caller, req pageRequest, name string, list func(o *organization, now time.Time) ([]T, *apiError)) (any, *apiError) {
	o, aerr := s.requireManagement(c, managementAndDelegates)
	if aerr != nil {
		return nil, aerr
	}
	visible, aerr := list(o, s.now())
	if aerr != nil {
		return nil, aerr
	}
	start, end, next, aerr := orgPage(len(visible), req)
	if aerr != nil {
		return nil, aerr
	}
	return withNext(map[string]any{name: nonNil(visible[start:end])}, next), nil
}

func (s *Sandbox) orgListAccounts(c *caller, req pageRequest) (any, *apiError) {
	return orgList(s, c, req, "Accounts", func(o *organization, now time.Time) ([]accountJSON, *apiError) {
		var visible []accountJSON
		for _, id := range o.Members {
			a := s.st.Accounts[id]
			if a == nil || (s.delay > 0 && now.Sub(a.JoinedAt) < s.delay && id != c.account.ID) {
				continue
			}
			visible = append(visible, exportAccountJSON(o, a))
		}
		return visible, nil
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Sandbox) orgEnableAllFeatures(c *caller, in json.RawMessage) (any, *apiError) {
	o, aerr := s.requireManagement(c, managementOnly)
	if aerr != nil {
		return nil, aerr
	}
	if o.FeatureSet == "ALL" {
		return nil, errf("HandshakeConstraintViolationException", "The handshake request is invalid because the organization has already enabled all features.").
			with("Reason", "ORGANIZATION_ALREADY_HAS_ALL_FEATURES")
	}
	// Every sandbox member was created from within the organization, and
	// such accounts need not approve: the change completes at once.
	now := s.now()
	o.FeatureSet = "ALL"
	s.dirty = true
	id := "h-" + s.ids.fromAlphabet("handshake", lowerAlnum, 10)
	return map[string]any{"Handshake": map[string]any{
		"Id":                  id,
		"Arn":                 "arn:aws:organizations::" + o.ManagementAccountID + ":handshake/" + o.ID + "/enable_all_features/" + id,
		"Parties":             []map[string]string{{"Id": o.ID, "Type": "ORGANIZATION"}},
		"State":               "ACCEPTED",
		"Action":              "ENABLE_ALL_FEATURES",
		"RequestedTimestamp":  epoch(now),
		"ExpirationTimestamp": epoch(now.Add(90 * 24 * time.Hour)),
		"Resources":           []map[string]string{{"Type": "ORGANIZATION", "Value": o.ID}},
	}}, nil
}

type principalRequest struct{ ServicePrincipal string }

func (s *Sandbox) orgEnableAWSServiceAccess(c *caller, req principalRequest) (any, *apiError) {
	return s.orgSetServiceAccess(c, req, true)
}

func (s *Sandbox) orgDisableAWSServiceAccess(c *caller, req principalRequest) (any, *apiError) {
	return s.orgSetServiceAccess(c, req, false)
}

func (s *Sandbox) orgSetServiceAccess(c *caller, req principalRequest, on bool) (any, *apiError) {
	o, aerr := s.requireManagement(c, managementOnly)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := validPrincipal(req.ServicePrincipal); aerr != nil {
		return nil, aerr
	}
	if aerr := requireAllFeatures(o); aerr != nil {
		return nil, aerr
	}
	s.setServiceAccessLocked(o, req.ServicePrincipal, on)
	return nil, nil
}

type enabledPrincipalJSON struct {
	ServicePrincipal string        `json:"ServicePrincipal"`
	DateEnabled      *epochSeconds `json:"DateEnabled"`
}

func (s *Sandbox) orgListAWSServiceAccess(c *caller, req pageRequest) (any, *apiError) {
	return orgList(s, c, req, "EnabledServicePrincipals", func(o *organization, now time.Time) ([]enabledPrincipalJSON, *apiError) {
		var visible []enabledPrincipalJSON
		for _, p := range sortedKeys(o.ServiceAccess) {
			if on, since := o.ServiceAccess[p].view(now, s.delay); on {
				visible = append(visible, enabledPrincipalJSON{ServicePrincipal: p, DateEnabled: epoch(since)})
			}
		}
		return visible, nil
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type delegationRequest struct {
	AccountID        string `json:"AccountId"`
	ServicePrincipal string
}

var accountIDInput = regexp.MustCompile(`^\d{12}$`)

// delegationOrganization checks what registering and deregistering a
// delegated administrator both need, and returns the organization.
func (s *Sandbox) delegationOrganization(c *caller, req delegationRequest) (*organization, *apiError) {
	o, aerr := s.requireManagement(c, managementOnly)
	if aerr != nil {
		return nil, aerr
	}
	if !accountIDInput.MatchString(req.AccountID) {
		return nil, errInvalidInput("INVALID_PATTERN", "You provided a value that does not match the required pattern.")
	}
	if aerr := validPrincipal(req.ServicePrincipal); aerr != nil {
		return nil, aerr
	}
	return o, nil
}

func (s *Sandbox) orgRegisterDelegatedAdministrator(c *caller, req delegationRequest) (any, *apiError) {
	o, aerr := s.delegationOrganization(c, req)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := requireAllFeatures(o); aerr != nil {
		return nil, aerr
	}
	return nil, s.registerDelegateLocked(o, req.AccountID, req.ServicePrincipal, orgDelegationErrors())
}

// delegationErrors spell the failures of registering and deregistering a
// delegated administrator, which Organizations and CloudTrail spell
// differently. Each call builds its own.
type delegationErrors struct {
	notMember, isManagement, accessNotEnabled, already, limit, notRegistered *apiError
}

func orgDelegationErrors() delegationErrors {
	return delegationErrors{
		notMember:        errf("AccountNotFoundException", "You specified an account that doesn't exist."),
		isManagement:     errConstraint("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR", "You can designate only a member account as a delegated administrator."),
		accessNotEnabled: errConstraint("SERVICE_ACCESS_NOT_ENABLED", "You attempted to register a delegated administrator for a service that doesn't have trusted access enabled for your organization."),
		already:          errf("AccountAlreadyRegisteredException", "The provided account is already a delegated administrator for your organization."),
		limit:            errConstraint("MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED", "You attempted to register more delegated administrators than allowed for the service principal."),
		notRegistered:    errf("AccountNotRegisteredException", "The provided account is not a registered delegated administrator for your organization."),
	}
}

func (s *Sandbox) registerDelegateLocked(o *organization, accountID, principal string, errs delegationErrors) *apiError {
	if accountID == o.ManagementAccountID {
		return errs.isManagement
	}
	if !o.hasMember(accountID) {
		return errs.notMember
	}
	if !o.trustedAccess(principal) {
		return errs.accessNotEnabled
	}
	if o.isDelegate(accountID, principal) {
		return errs.already
	}
	limit := delegatedAdminLimits[principal]
	if limit == 0 {
		limit = 1
	}
	count := 0
	for id := range o.Delegations {
		if o.isDelegate(id, principal) {
			count++
		}
	}
	if count >= limit {
		return errs.limit
	}
	s.setDelegationLocked(o, accountID, principal, true)
	return nil
}

func (s *Sandbox) deregisterDelegateLocked(o *organization, accountID, principal string, errs delegationErrors) *apiError {
	if !o.hasMember(accountID) {
		return errs.notMember
	}
	if !o.isDelegate(accountID, principal) {
		return errs.notRegistered
	}
	s.setDelegationLocked(o, accountID, principal, false)
	return nil
}

func (s *Sandbox) setDelegationLocked(o *organization, accountID, principal string, on bool) {
	byPrincipal := o.Delegations[accountID]
	if byPrincipal == nil {
		byPrincipal = map[string]*toggle{}
		o.Delegations[accountID] = byPrincipal
	}
	t := byPrincipal[principal]
	if t == nil {
		t = &toggle{}
		byPrincipal[principal] = t
	}
	t.set(on, s.now(), s.delay)
	s.dirty = true
}

func (s *Sandbox) orgDeregisterDelegatedAdministrator(c *caller, req delegationRequest) (any, *apiError) {
	o, aerr := s.delegationOrganization(c, req)
	if aerr != nil {
		return nil, aerr
	}
	return nil, s.deregisterDelegateLocked(o, req.AccountID, req.ServicePrincipal, orgDelegationErrors())
}

type delegatedAdminJSON struct {
	accountJSON
	DelegationEnabledDate *epochSeconds `json:"DelegationEnabledDate,omitempty"`
}

type listDelegatedAdministratorsInput struct {
	pageRequest
	ServicePrincipal string
}

func (s *Sandbox) orgListDelegatedAdministrators(c *caller, req listDelegatedAdministratorsInput) (any, *apiError) {
	return orgList(s, c, req.pageRequest, "DelegatedAdministrators", func(o *organization, now time.Time) ([]delegatedAdminJSON, *apiError) {
		if req.ServicePrincipal != "" {
			if aerr := validPrincipal(req.ServicePrincipal); aerr != nil {
				return nil, aerr
			}
		}
		var visible []delegatedAdminJSON
		for _, id := range o.Members {
			var first time.Time
			for _, p := range sortedKeys(o.Delegations[id]) {
				if req.ServicePrincipal != "" && p != req.ServicePrincipal {
					continue
				}
				if on, since := o.Delegations[id][p].view(now, s.delay); on && (first.IsZero() || since.Before(first)) {
					first = since
				}
			}
			if first.IsZero() {
				continue
			}
			visible = append(visible, delegatedAdminJSON{
				accountJSON:           exportAccountJSON(o, s.st.Accounts[id]),
				DelegationEnabledDate: epoch(first),
			})
		}
		return visible, nil
	})
}

// withNext adds NextToken to a List* output when there is another page.
func withNext(out map[string]any, next *string) map[string]any {
	if next != nil {
		out["NextToken"] = *next
	}
	return out
}
