package awssandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Fault makes matching requests fail or slow down, as AWS does under load.
// A request matches when every non-empty selector equals the request's.
// Faults are tried in order; latency of every firing fault adds up, and the
// first firing fault with an Error answers the request.
type Fault struct {
	// Service is organizations, cloudtrail, iam, sts or s3; empty is any.
	Service string `json:"service,omitempty"`
	// Operation is the API operation, e.g. EnableAWSServiceAccess or
	// PutBucketPolicy; empty is any.
	Operation string `json:"operation,omitempty"`
	// AccountID is the calling account; empty is any.
	AccountID string `json:"accountId,omitempty"`
	// Error is the error code returned: TooManyRequestsException,
	// ThrottlingException, ServiceException (HTTP 500),
	// ConcurrentModificationException, AccessDeniedException, or any other
	// code. IAM, STS and S3 get their own spelling of the same error
	// (Throttling, ServiceFailure, SlowDown, …). Empty adds latency only.
	Error string `json:"error,omitempty"`
	// Message is the error message; empty means a message like AWS's.
	Message string `json:"message,omitempty"`
	// Status overrides the HTTP status of the error.
	Status int `json:"status,omitempty"`
	// Latency is added before the request is answered.
	Latency time.Duration `json:"-"`
	// Probability is the chance, in (0, 1], that a matching request fires
	// the fault, drawn from the seeded RNG. Zero means every matching
	// request.
	Probability float64 `json:"probability,omitempty"`
	// Count is how many times the fault fires at most; zero is unlimited.
	Count int `json:"count,omitempty"`
	// Applied lets the request take effect before the fault answers it, as
	// when AWS commits a change and the response is lost on its way back:
	// the caller sees the error, or no answer at all, although the change
	// was made. Latency is then added after the change.
	Applied bool `json:"applied,omitempty"`
	// Drop closes the connection instead of answering, as a timeout or a
	// reset does: the caller gets no HTTP response at all.
	Drop bool `json:"drop,omitempty"`
}

// MarshalJSON writes Latency as a Go duration string ("250ms").
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	out := struct {
		plain
		Latency string `json:"latency,omitempty"`
	}{plain: plain(f)}
	if f.Latency > 0 {
		out.Latency = f.Latency.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads Latency as a duration string ("250ms") or a number of
// milliseconds.
func (f *Fault) UnmarshalJSON(data []byte) error {
	type plain Fault
	var in struct {
		plain
		Latency json.RawMessage `json:"latency,omitempty"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*f = Fault(in.plain)
	if len(in.Latency) == 0 || string(in.Latency) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(in.Latency, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("fault latency %q: %w", s, err)
		}
		f.Latency = d
		return nil
	}
	var ms float64
	if err := json.Unmarshal(in.Latency, &ms); err != nil {
		return fmt.Errorf("fault latency must be a duration string or milliseconds: %w", err)
	}
	f.Latency = time.Duration(ms * float64(time.Millisecond))
	return nil
}

func (f Fault) validate() error {
	switch f.Service {
	case "", "organizations", "cloudtrail", "iam", "sts", "s3":
	default:
		return fmt.Errorf("unknown service %q (want organizations, cloudtrail, iam, sts or s3)", f.Service)
	}
	if f.Probability < 0 || f.Probability > 1 {
		return fmt.Errorf("probability %v is outside [0, 1]", f.Probability)
	}
	if f.Count < 0 {
		return fmt.Errorf("count %d is negative", f.Count)
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency %v is negative", f.Latency)
	}
	if f.Error != "" && f.Drop {
		return errors.New("a fault answers with an error or drops the connection, not both")
	}
	if f.Applied && f.Error == "" && !f.Drop {
		return errors.New("an applied fault loses the response: give it an error or drop")
	}
	if f.Error == "" && !f.Drop && f.Latency == 0 {
		return errors.New("a fault needs an error, a drop, a latency or a combination")
	}
	return nil
}

// SetFaults replaces the fault schedule; counts start again from zero. The
// RNG is not reseeded: use SetFaultSeed for that.
func (s *Sandbox) SetFaults(f []Fault) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = append([]Fault(nil), f...)
	s.fired = make([]int, len(f))
}

// Faults returns the fault schedule.
func (s *Sandbox) Faults() []Fault {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return append([]Fault(nil), s.faults...)
}

// Fired says how many times each fault of the schedule has fired since the
// schedule was set, in the schedule's order.
func (s *Sandbox) Fired() []int {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return append([]int(nil), s.fired...)
}

// SetFaultSeed reseeds the fault RNG, so that the same seed and the same
// sequence of requests fire the same faults.
func (s *Sandbox) SetFaultSeed(seed int64) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.seedFaults(seed)
}

func (s *Sandbox) seedFaults(seed int64) {
	s.seed = seed
	s.rng = rand.New(rand.NewPCG(uint64(seed), 0x747261696c676174)) // "trailgat"
}

// faultAnswer is how the fault schedule answers one request.
type faultAnswer struct {
	latency time.Duration
	// err answers the request, unless drop closes its connection instead.
	err  *apiError
	drop bool
	// applied: the request takes effect before it is answered so.
	applied bool
}

// faultFor draws the schedule's answer to one request.
func (s *Sandbox) faultFor(c *caller, operation string) faultAnswer {
	var a faultAnswer
	s.fmu.Lock()
	defer s.fmu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if (f.Service != "" && f.Service != c.service) ||
			(f.Operation != "" && f.Operation != operation) ||
			(f.AccountID != "" && f.AccountID != c.account.ID) {
			continue
		}
		if f.Count > 0 && s.fired[i] >= f.Count {
			continue
		}
		if f.Probability > 0 && f.Probability < 1 && s.rng.Float64() >= f.Probability {
			continue
		}
		s.fired[i]++
		a.latency += f.Latency
		if f.Error != "" || f.Drop {
			if f.Error != "" {
				a.err = faultError(c.service, operation, *f)
			}
			a.drop, a.applied = f.Drop, f.Applied
			break
		}
	}
	return a
}

// answerFault sleeps for the answer's latency and then fails the request
// as the answer says; it reports whether it answered the request. A drop
// aborts the handler, so that the server closes the connection unanswered.
func (s *Sandbox) answerFault(w http.ResponseWriter, r *http.Request, proto protocol, service, reqID string, a faultAnswer) bool {
	if err := sleep(r.Context(), a.latency); err != nil {
		writeError(w, r, proto, service, reqID, errStatus(500, "InternalFailure", "request canceled: %v", err))
		return true
	}
	switch {
	case a.drop:
		panic(http.ErrAbortHandler)
	case a.err != nil:
		writeError(w, r, proto, service, reqID, a.err)
		return true
	}
	return false
}

// faultError is the error of a firing fault, spelled as the service spells it.
func faultError(service, operation string, f Fault) *apiError {
	code, status, msg := f.Error, http.StatusBadRequest, f.Message
	switch serviceProtocol(service) {
	case protoQuery:
		switch code {
		case "TooManyRequestsException", "ThrottlingException":
			code = "Throttling"
		case "ServiceException":
			code, status = "ServiceFailure", 500
			if service == "sts" {
				code = "InternalFailure"
			}
		case "ConcurrentModificationException":
			code, status = "ConcurrentModification", 409
		case "AccessDeniedException":
			code, status = "AccessDenied", 403
		}
	case protoS3:
		switch code {
		case "TooManyRequestsException", "ThrottlingException":
			code, status = "SlowDown", 503
		case "ServiceException":
			code, status = "InternalError", 500
		case "ConcurrentModificationException":
			code, status = "OperationAborted", 409
		case "AccessDeniedException":
			code, status = "AccessDenied", 403
		}
	}
	switch code {
	case "ServiceException", "InternalFailure", "InternalError", "ServiceFailure":
		status = 500
	case "ServiceUnavailable", "ServiceUnavailableException":
		status = 503
	}
	if f.Status != 0 {
		status = f.Status
	}
	if msg == "" {
		msg = faultMessages[code]
		if code == "ServiceException" && service != "organizations" {
			// The message above is Organizations' own.
			msg = faultMessages["InternalFailure"]
		}
		if msg == "" {
			msg = "Injected fault on " + operation
		}
	}
	return &apiError{Code: code, Message: msg, Status: status, Receiver: status >= 500}
}

var faultMessages = map[string]string{
	"TooManyRequestsException":        "AWS Organizations can't complete your request because another request is already in progress. Try again later.",
	"ThrottlingException":             "Rate exceeded",
	"Throttling":                      "Rate exceeded",
	"SlowDown":                        "Please reduce your request rate.",
	"ServiceException":                "AWS Organizations can't complete your request because of an internal service error. Try again later.",
	"ServiceFailure":                  "The request processing has failed because of an unknown error, exception or failure.",
	"InternalFailure":                 "An internal error has occurred. Try your request again.",
	"InternalError":                   "We encountered an internal error. Please try again.",
	"ConcurrentModificationException": "The target of the operation is currently being modified by a different request. Try again later.",
	"ConcurrentModification":          "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.",
	"OperationAborted":                "A conflicting conditional operation is currently in progress against this resource. Please try again.",
	"AccessDeniedException":           "You don't have permissions to access this resource.",
	"AccessDenied":                    "Access Denied",
}
