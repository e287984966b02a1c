package awssandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// jsonHandler serves one JSON 1.1 operation; it runs with s.mu held.
type jsonHandler func(s *Sandbox, c *caller, in json.RawMessage) (any, *apiError)

// queryHandler serves one Query operation; it runs with s.mu held.
type queryHandler func(s *Sandbox, c *caller, form url.Values) (queryResult, *apiError)

// jsonService is a JSON 1.1 service: the X-Amz-Target prefixes that name
// its operations, and the operations.
type jsonService struct {
	targetPrefixes []string
	operations     map[string]jsonHandler
}

// queryService is a Query service: the API version its requests carry, and
// its operations.
type queryService struct {
	version    string
	operations map[string]queryHandler
}

// jsonServices and queryServices are every operation the sandbox serves
// besides S3's, by service.
var jsonServices = map[string]jsonService{
	"organizations": {
		targetPrefixes: []string{"AWSOrganizationsV20161128."},
		operations: map[string]jsonHandler{
			"CreateOrganization":                  decoded((*Sandbox).orgCreateOrganization),
			"DescribeOrganization":                (*Sandbox).orgDescribeOrganization,
			"ListAccounts":                        decoded((*Sandbox).orgListAccounts),
			"EnableAllFeatures":                   (*Sandbox).orgEnableAllFeatures,
			"EnableAWSServiceAccess":              decoded((*Sandbox).orgEnableAWSServiceAccess),
			"DisableAWSServiceAccess":             decoded((*Sandbox).orgDisableAWSServiceAccess),
			"ListAWSServiceAccessForOrganization": decoded((*Sandbox).orgListAWSServiceAccess),
			"RegisterDelegatedAdministrator":      decoded((*Sandbox).orgRegisterDelegatedAdministrator),
			"DeregisterDelegatedAdministrator":    decoded((*Sandbox).orgDeregisterDelegatedAdministrator),
			"ListDelegatedAdministrators":         decoded((*Sandbox).orgListDelegatedAdministrators),
		},
	},
	"cloudtrail": {
		targetPrefixes: []string{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.", "CloudTrail_20131101."},
		operations: map[string]jsonHandler{
			"CreateTrail":                          decoded((*Sandbox).ctCreateTrail),
			"UpdateTrail":                          decoded((*Sandbox).ctUpdateTrail),
			"DeleteTrail":                          decoded((*Sandbox).ctDeleteTrail),
			"GetTrail":                             decoded((*Sandbox).ctGetTrail),
			"DescribeTrails":                       decoded((*Sandbox).ctDescribeTrails),
			"ListTrails":                           decoded((*Sandbox).ctListTrails),
			"GetTrailStatus":                       decoded((*Sandbox).ctGetTrailStatus),
			"StartLogging":                         decoded((*Sandbox).ctStartLogging),
			"StopLogging":                          decoded((*Sandbox).ctStopLogging),
			"RegisterOrganizationDelegatedAdmin":   decoded((*Sandbox).ctRegisterOrganizationDelegatedAdmin),
			"DeregisterOrganizationDelegatedAdmin": decoded((*Sandbox).ctDeregisterOrganizationDelegatedAdmin),
			"CreateEventDataStore":                 decoded((*Sandbox).ctCreateEventDataStore),
			"GetEventDataStore":                    decoded((*Sandbox).ctGetEventDataStore),
			"ListEventDataStores":                  decoded((*Sandbox).ctListEventDataStores),
			"LookupEvents":                         decoded((*Sandbox).ctLookupEvents),
		},
	},
}

var queryServices = map[string]queryService{
	"iam": {
		version: "2010-05-08",
		operations: map[string]queryHandler{
			"GetRole":                            (*Sandbox).iamGetRole,
			"CreateRole":                         (*Sandbox).iamCreateRole,
			"CreateServiceLinkedRole":            (*Sandbox).iamCreateServiceLinkedRole,
			"DeleteServiceLinkedRole":            (*Sandbox).iamDeleteServiceLinkedRole,
			"GetServiceLinkedRoleDeletionStatus": (*Sandbox).iamGetServiceLinkedRoleDeletionStatus,
			"PutRolePolicy":                      (*Sandbox).iamPutRolePolicy,
			"GetRolePolicy":                      (*Sandbox).iamGetRolePolicy,
			"DeleteRolePolicy":                   (*Sandbox).iamDeleteRolePolicy,
			"ListRolePolicies":                   (*Sandbox).iamListRolePolicies,
			"SimulatePrincipalPolicy":            (*Sandbox).iamSimulatePrincipalPolicy,
		},
	},
	"sts": {
		version: "2011-06-15",
		operations: map[string]queryHandler{
			"GetCallerIdentity": (*Sandbox).stsGetCallerIdentity,
			"AssumeRole":        (*Sandbox).stsAssumeRole,
		},
	},
}

// jsonOperation is the operation an X-Amz-Target names in service, and its
// handler; both are empty when the service does not serve it.
func jsonOperation(service, target string) (string, jsonHandler) {
	svc := jsonServices[service]
	for _, prefix := range svc.targetPrefixes {
		if op, ok := strings.CutPrefix(target, prefix); ok {
			if h := svc.operations[op]; h != nil {
				return op, h
			}
			return "", nil
		}
	}
	return "", nil
}

// decoded is the handler of an operation that takes its input decoded.
func decoded[In any](op func(s *Sandbox, c *caller, req In) (any, *apiError)) jsonHandler {
	return func(s *Sandbox, c *caller, in json.RawMessage) (any, *apiError) {
		var req In
		if aerr := decodeJSON(in, &req); aerr != nil {
			return nil, aerr
		}
		return op(s, c, req)
	}
}

// decodeJSON decodes an operation's input; a body that does not fit the
// input shape is a SerializationException, as AWS reports it.
func decodeJSON(in json.RawMessage, v any) *apiError {
	if err := json.Unmarshal(in, v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return errf("SerializationException", "Unexpected value for field %s", ute.Field)
		}
		return errf("SerializationException", "Start of structure or map found where not expected.")
	}
	return nil
}

// runOperation runs op as every service does. A fault answers before IAM
// authorizes the call, as AWS's throttling does, or, when it lets the call
// take effect, after the call. The call runs with s.mu held, and what it
// changed is saved before the lock is let go. runOperation reports whether
// the request is still to be answered.
func (s *Sandbox) runOperation(w http.ResponseWriter, r *http.Request, c *caller, proto protocol, reqID, op string, call func() *apiError) bool {
	fault := s.faultFor(c, op)
	if !fault.applied && s.answerFault(w, r, proto, c.service, reqID, fault) {
		return false
	}
	if aerr := authorize(c, op); aerr != nil {
		writeError(w, r, proto, c.service, reqID, aerr)
		return false
	}
	s.mu.Lock()
	aerr := call()
	saved := s.commitLater()
	s.mu.Unlock()
	if cerr := saved(); cerr != nil && aerr == nil {
		aerr = errSaveState(proto, cerr)
	}
	if fault.applied && s.answerFault(w, r, proto, c.service, reqID, fault) {
		return false
	}
	if aerr != nil {
		writeError(w, r, proto, c.service, reqID, aerr)
		return false
	}
	return true
}

// errSaveState is the server fault each protocol answers with when the
// sandbox could not save its state.
func errSaveState(proto protocol, err error) *apiError {
	switch proto {
	case protoQuery:
		return errStatus(500, "ServiceFailure", "save sandbox state: %v", err)
	case protoS3:
		return errStatus(500, "InternalError", "We encountered an internal error. Please try again.")
	}
	return errStatus(500, "InternalFailure", "save sandbox state: %v", err)
}

func (s *Sandbox) serveJSON(w http.ResponseWriter, r *http.Request, c *caller, body []byte, reqID string) {
	op, h := jsonOperation(c.service, r.Header.Get("X-Amz-Target"))
	if h == nil {
		writeError(w, r, protoJSON, c.service, reqID, errf("UnknownOperationException", ""))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	var out any
	if s.runOperation(w, r, c, protoJSON, reqID, op, func() (aerr *apiError) {
		out, aerr = h(s, c, body)
		return aerr
	}) {
		writeJSON(w, reqID, out)
	}
}

func (s *Sandbox) serveQuery(w http.ResponseWriter, r *http.Request, c *caller, body []byte, reqID string) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, r, protoQuery, c.service, reqID, errf("MalformedQueryString", "the request body is not a form: %v", err))
		return
	}
	for k, v := range r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	action := form.Get("Action")
	svc := queryServices[c.service]
	h := svc.operations[action]
	if action == "" {
		writeError(w, r, protoQuery, c.service, reqID, errf("MissingAction", "Missing Action"))
		return
	}
	if h == nil || form.Get("Version") != svc.version {
		writeError(w, r, protoQuery, c.service, reqID, errf("InvalidAction", "Could not find operation %s for version %s", action, form.Get("Version")))
		return
	}
	var out queryResult
	if s.runOperation(w, r, c, protoQuery, reqID, action, func() (aerr *apiError) {
		out, aerr = h(s, c, form)
		return aerr
	}) {
		writeQuery(w, c.service, action, reqID, out)
	}
}
