package awssandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CloudTrail's event history: the sandbox records a management event for
// every call it serves, in the caller's account and the call's region
// (us-east-1 for the global services, Organizations, IAM and STS, as AWS
// logs them), and answers cloudtrail:LookupEvents from them. Events live in
// memory only: a restarted sandbox starts with an empty history.

// maxEventsKept bounds the history of one account and region, separately
// for read-only and other events, so that polling never pushes a change's
// own calls out of the history.
const maxEventsKept = 1000

// maxLookupResults is LookupEvents' MaxResults limit and default.
const maxLookupResults = 50

// managementEvent is one recorded call.
type managementEvent struct {
	seq         uint64
	id          string
	name        string
	source      string
	username    string
	accessKeyID string
	readOnly    bool
	time        time.Time
	resources   []eventResource
	// record is the CloudTrailEvent, the full event record, encoded only
	// when a lookup returns the event: a change over 1,000 organizations
	// leaves tens of thousands of events, and their records encoded at
	// once were a seventh of the dev default's heap.
	record eventRecord
}

// eventResource is a resource of an event as LookupEvents lists it.
type eventResource struct {
	Type string `json:"ResourceType"`
	Name string `json:"ResourceName"`
}

// eventRing keeps the last maxEventsKept events, oldest dropped first.
type eventRing struct {
	events []managementEvent
	next   int // where the next event goes once the ring is full
}

func (r *eventRing) add(e managementEvent) {
	if len(r.events) < maxEventsKept {
		r.events = append(r.events, e)
		return
	}
	r.events[r.next] = e
	r.next = (r.next + 1) % maxEventsKept
}

// newestFirst calls f on the events from newest to oldest until f returns
// false.
func (r *eventRing) newestFirst(f func(*managementEvent) bool) {
	n := len(r.events)
	for i := range n {
		if !f(&r.events[(r.next-1-i+2*n)%n]) {
			return
		}
	}
}

// eventHistory is every account's and region's events.
type eventHistory struct {
	mu     sync.Mutex
	seq    uint64
	places map[string]*[2]eventRing // by account and region; [0] writes, [1] reads

	// Events share what repeats between them, up to maxShared of each
	// kind: the caller's identity, by access key and the ID of the role it
	// took, and user agents. Past that, sharing starts afresh.
	shared     sync.Mutex
	identities map[[2]string]userIdentity
	agents     map[string]string
}

const maxShared = 4096

// identity is the identity recorded for key, which took the role roleID,
// made by newIdentity the first time.
func (h *eventHistory) identity(key, roleID string, newIdentity func() userIdentity) userIdentity {
	h.shared.Lock()
	defer h.shared.Unlock()
	if id, ok := h.identities[[2]string{key, roleID}]; ok {
		return id
	}
	if len(h.identities) >= maxShared || h.identities == nil {
		h.identities = map[[2]string]userIdentity{}
	}
	id := newIdentity()
	h.identities[[2]string{key, roleID}] = id
	return id
}

// userAgent is agent, as one copy events share.
func (h *eventHistory) userAgent(agent string) string {
	h.shared.Lock()
	defer h.shared.Unlock()
	if a, ok := h.agents[agent]; ok {
		return a
	}
	if len(h.agents) >= maxShared || h.agents == nil {
		h.agents = map[string]string{}
	}
	h.agents[agent] = agent
	return agent
}

func historyPlace(accountID, region string) string { return accountID + "/" + region }

func (h *eventHistory) add(accountID, region string, e managementEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.places == nil {
		h.places = map[string]*[2]eventRing{}
	}
	p := h.places[historyPlace(accountID, region)]
	if p == nil {
		p = &[2]eventRing{}
		h.places[historyPlace(accountID, region)] = p
	}
	h.seq++
	e.seq = h.seq
	if e.readOnly {
		p[1].add(e)
	} else {
		p[0].add(e)
	}
}

// newestFirst calls f on one account's and region's events, newest first,
// merging the read-only and other histories, until f returns false.
func (h *eventHistory) newestFirst(accountID, region string, f func(*managementEvent) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.places[historyPlace(accountID, region)]
	if p == nil {
		return
	}
	var writes, reads []*managementEvent
	p[0].newestFirst(func(e *managementEvent) bool { writes = append(writes, e); return true })
	p[1].newestFirst(func(e *managementEvent) bool { reads = append(reads, e); return true })
	for len(writes) > 0 || len(reads) > 0 {
		var e *managementEvent
		if len(reads) == 0 || (len(writes) > 0 && writes[0].seq > reads[0].seq) {
			e, writes = writes[0], writes[1:]
		} else {
			e, reads = reads[0], reads[1:]
		}
		if !f(e) {
			return
		}
	}
}

// eventWriter watches a response on its way out: its status, and the error
// writeError put on it.
type eventWriter struct {
	http.ResponseWriter
	status int
	err    *apiError
}

func (w *eventWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *eventWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *eventWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// noteError is writeError's hook: the error answering a request becomes its
// event's errorCode and errorMessage.
func noteError(w http.ResponseWriter, err *apiError) {
	if ew, ok := w.(*eventWriter); ok && ew.err == nil {
		ew.err = err
	}
}

// recordEvent wraps w so that, once the call is answered, done records its
// management event. Calls to operations the service does not have are not
// recorded, nor requests dropped unanswered.
func (s *Sandbox) recordEvent(w http.ResponseWriter, r *http.Request, c *caller, body []byte, reqID string) (http.ResponseWriter, func()) {
	ew := &eventWriter{ResponseWriter: w}
	at := s.now()
	return ew, func() {
		if c.call.operation == "" || ew.status == 0 {
			return
		}
		e, region := s.newEvent(r, c, body, reqID, at, ew.err)
		s.events.add(c.account.ID, region, e)
	}
}

// readOnlyPrefixes mark the operations CloudTrail logs as read-only.
var readOnlyPrefixes = []string{"Get", "List", "Describe", "Head", "Lookup", "Simulate"}

func readOnlyOperation(op string) bool {
	return op == "AssumeRole" || slices.ContainsFunc(readOnlyPrefixes, func(p string) bool { return strings.HasPrefix(op, p) })
}

// eventRecord is a CloudTrail event record, as CloudTrailEvent holds it.
type eventRecord struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       userIdentity    `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   map[string]any  `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	Resources          []recordARN     `json:"resources,omitempty"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`
}

type userIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *sessionContext `json:"sessionContext,omitempty"`
}

type sessionContext struct {
	SessionIssuer  sessionIssuer     `json:"sessionIssuer"`
	Attributes     sessionAttributes `json:"attributes"`
	SourceIdentity string            `json:"sourceIdentity,omitempty"`
}

type sessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type sessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

type recordARN struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

// newEvent builds the event of one answered call and says which region's
// history it belongs to.
func (s *Sandbox) newEvent(r *http.Request, c *caller, body []byte, reqID string, at time.Time, failure *apiError) (managementEvent, string) {
	region := c.region
	if globalServices[c.service] {
		region = DefaultRegion
	}
	e := managementEvent{
		id:          newEventID(),
		name:        c.call.operation,
		source:      c.service + ".amazonaws.com",
		username:    c.username(),
		accessKeyID: c.key.AccessKeyID,
		readOnly:    readOnlyOperation(c.call.operation),
		time:        at.Truncate(time.Second),
		resources:   c.call.eventResources(),
	}
	rec := eventRecord{
		EventVersion:       "1.09",
		UserIdentity:       s.userIdentity(c),
		EventTime:          e.time.UTC().Format(time.RFC3339),
		EventSource:        e.source,
		EventName:          e.name,
		AWSRegion:          region,
		SourceIPAddress:    sourceIP(r),
		UserAgent:          s.events.userAgent(r.UserAgent()),
		RequestParameters:  requestParameters(r, c, body),
		RequestID:          reqID,
		EventID:            e.id,
		ReadOnly:           e.readOnly,
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: c.account.ID,
		EventCategory:      "Management",
	}
	if failure != nil {
		rec.ErrorCode, rec.ErrorMessage = failure.Code, failure.Message
	}
	for _, res := range e.resources {
		arn := res.Name
		if res.Type == "AWS::S3::Bucket" {
			arn = "arn:aws:s3:::" + res.Name
		}
		rec.Resources = append(rec.Resources, recordARN{AccountID: arnAccount(arn), Type: res.Type, ARN: arn})
	}
	e.record = rec
	return e, region
}

// cloudTrailEvent is the event's record as LookupEvents' CloudTrailEvent
// holds it.
func (e *managementEvent) cloudTrailEvent() string {
	data, err := json.Marshal(&e.record)
	if err != nil {
		return "{}"
	}
	return string(data)
}

// username is the caller as LookupEvents' Username shows it: an assumed
// role's session name, or the IAM user's name.
func (c *caller) username() string {
	switch {
	case c.key.temporary():
		return c.key.SessionName
	case c.user != nil:
		return c.user.Name
	}
	return c.account.UserName
}

// userIdentity is the caller as an event record names it. Calls with the
// same key share one: the identity is the same for every call.
func (s *Sandbox) userIdentity(c *caller) userIdentity {
	var roleID string
	if c.key.temporary() {
		s.mu.Lock()
		if r := c.account.Roles[c.key.RoleName]; r != nil {
			roleID = r.ID
		}
		s.mu.Unlock()
	}
	return s.events.identity(c.key.AccessKeyID, roleID, func() userIdentity { return newUserIdentity(c, roleID) })
}

// newUserIdentity is the identity of c, whose role, if it took one, has
// the ID roleID.
func newUserIdentity(c *caller, roleID string) userIdentity {
	id := userIdentity{
		PrincipalID: c.userID(),
		ARN:         c.arn(),
		AccountID:   c.account.ID,
		AccessKeyID: c.key.AccessKeyID,
	}
	if !c.key.temporary() {
		id.Type, id.UserName = "IAMUser", c.username()
		return id
	}
	id.Type = "AssumedRole"
	issuer := sessionIssuer{Type: "Role", ARN: c.principalARN(), AccountID: c.account.ID, UserName: c.key.RoleName, PrincipalID: roleID}
	id.SessionContext = &sessionContext{
		SessionIssuer:  issuer,
		Attributes:     sessionAttributes{CreationDate: c.key.IssuedAt.UTC().Format(time.RFC3339), MFAAuthenticated: "false"},
		SourceIdentity: c.key.SourceIdentity,
	}
	return id
}

func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// requestParameters are a call's parameters as CloudTrail logs them, as
// JSON: the top-level members, named in lower camel case.
func requestParameters(r *http.Request, c *caller, body []byte) json.RawMessage {
	out := map[string]any{}
	switch serviceProtocol(c.service) {
	case protoJSON:
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		for k, v := range in {
			out[lowerCamel(k)] = v
		}
	case protoQuery:
		form, _ := url.ParseQuery(string(body))
		for k, v := range form {
			if k == "Action" || k == "Version" || strings.Contains(k, ".") || len(v) == 0 {
				continue
			}
			out[lowerCamel(k)] = v[0]
		}
	case protoS3:
		bucketName, _ := s3Operation(r)
		if bucketName != "" {
			out["bucketName"] = bucketName
		}
		out["Host"] = r.Host
	}
	if len(out) == 0 {
		return nil
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return data
}

func lowerCamel(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// lookupAttributeKeys are LookupEvents' attribute keys, each with what it
// compares.
var lookupAttributeKeys = map[string]func(e *managementEvent, v string) bool{
	"EventId":     func(e *managementEvent, v string) bool { return e.id == v },
	"EventName":   func(e *managementEvent, v string) bool { return e.name == v },
	"ReadOnly":    func(e *managementEvent, v string) bool { return strconv.FormatBool(e.readOnly) == v },
	"Username":    func(e *managementEvent, v string) bool { return e.username == v },
	"EventSource": func(e *managementEvent, v string) bool { return e.source == v },
	"AccessKeyId": func(e *managementEvent, v string) bool { return e.accessKeyID == v },
	"ResourceType": func(e *managementEvent, v string) bool {
		for _, r := range e.resources {
			if r.Type == v {
				return true
			}
		}
		return false
	},
	"ResourceName": func(e *managementEvent, v string) bool {
		for _, r := range e.resources {
			if r.Name == v {
				return true
			}
		}
		return false
	},
}

var lookupTokenPattern = regexp.MustCompile(`^e(\d+)$`)

type eventJSON struct {
	EventID         string          `json:"EventId"`
	EventName       string          `json:"EventName"`
	ReadOnly        string          `json:"ReadOnly"`
	AccessKeyID     string          `json:"AccessKeyId"`
	EventTime       *epochSeconds   `json:"EventTime"`
	EventSource     string          `json:"EventSource"`
	Username        string          `json:"Username"`
	Resources       []eventResource `json:"Resources"`
	CloudTrailEvent string          `json:"CloudTrailEvent"`
}

// ctLookupEvents answers from the caller's account's history in the
// caller's region, newest first.
type lookupEventsInput struct {
	LookupAttributes []struct{ AttributeKey, AttributeValue string }
	StartTime        *float64
	EndTime          *float64
	EventCategory    string
	MaxResults       *int
	NextToken        *string
}

func (s *Sandbox) ctLookupEvents(c *caller, req lookupEventsInput) (any, *apiError) {
	if len(req.LookupAttributes) > 1 {
		return nil, errf("InvalidLookupAttributesException", "You can specify only one lookup attribute.")
	}
	var match func(*managementEvent) bool
	if len(req.LookupAttributes) == 1 {
		a := req.LookupAttributes[0]
		cmp := lookupAttributeKeys[a.AttributeKey]
		if cmp == nil {
			return nil, errf("InvalidLookupAttributesException", "Lookup attribute key %s is not valid.", a.AttributeKey)
		}
		if a.AttributeValue == "" {
			return nil, errf("InvalidLookupAttributesException", "The lookup attribute value cannot be empty.")
		}
		match = func(e *managementEvent) bool { return cmp(e, a.AttributeValue) }
	}
	if req.EventCategory != "" && req.EventCategory != "insight" {
		return nil, errf("InvalidEventCategoryException", "Event category %s is not valid.", req.EventCategory)
	}
	limit := maxLookupResults
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > maxLookupResults {
			return nil, errf("InvalidMaxResultsException", "MaxResults must be between 1 and %d.", maxLookupResults)
		}
		limit = *req.MaxResults
	}
	var start, end time.Time
	if req.StartTime != nil {
		start = epochTime(*req.StartTime)
	}
	if req.EndTime != nil {
		end = epochTime(*req.EndTime)
	}
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return nil, errf("InvalidTimeRangeException", "Start time %s is after end time %s.", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	var from uint64
	if req.NextToken != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*req.NextToken)
		m := lookupTokenPattern.FindSubmatch(raw)
		if err != nil || m == nil {
			return nil, errf("InvalidNextTokenException", "The next token is not valid.")
		}
		from, _ = strconv.ParseUint(string(m[1]), 10, 64)
	}
	out := []eventJSON{}
	var next *string
	if req.EventCategory == "" {
		s.events.newestFirst(c.account.ID, c.region, func(e *managementEvent) bool {
			if (from != 0 && e.seq > from) || (!end.IsZero() && e.time.After(end)) {
				return true
			}
			if !start.IsZero() && e.time.Before(start) {
				return false
			}
			if match != nil && !match(e) {
				return true
			}
			if len(out) == limit {
				t := base64.RawURLEncoding.EncodeToString([]byte("e" + strconv.FormatUint(e.seq, 10)))
				next = &t
				return false
			}
			out = append(out, eventJSON{
				EventID:         e.id,
				EventName:       e.name,
				ReadOnly:        strconv.FormatBool(e.readOnly),
				AccessKeyID:     e.accessKeyID,
				EventTime:       epoch(e.time),
				EventSource:     e.source,
				Username:        e.username,
				Resources:       append([]eventResource{}, e.resources...),
				CloudTrailEvent: e.cloudTrailEvent(),
			})
			return true
		})
	}
	return withNext(map[string]any{"Events": out}, next), nil
}

func epochTime(seconds float64) time.Time {
	return time.UnixMilli(int64(seconds * 1000)).UTC()
}
