// Package awssandbox is trailgate's local AWS: Organizations, CloudTrail, IAM,
// STS and S3 served over HTTP as AWS serves them, so that the unmodified AWS
// SDK clients and the AWS CLI can run every trailgate change without an AWS
// account.
//
// What it speaks:
//   - Organizations and CloudTrail: JSON 1.1, operation in X-Amz-Target
//     (AWSOrganizationsV20161128.<Op>; CloudTrail_20131101.<Op> or
//     com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>).
//   - IAM and STS: the Query protocol (form-encoded Action) with XML responses.
//   - S3: REST with XML, path-style buckets (http://host/<bucket>).
//
// Every request must carry a SigV4 Authorization header; the service is the
// one named in its credential scope, and the signature is recomputed with the
// AWS SDK's own signer. Errors (codes, HTTP statuses, bodies) are those each
// service documents, so that SDKs decode their typed exceptions.
//
// # Who may do what
//
// Account administrators may do everything; IAM users made with CreateUser
// only ask STS who they are. A role session may do what its role's inline
// identity policies allow (PutRolePolicy), evaluated as IAM does: an
// explicit Deny wins, then an Allow, else the service's AccessDenied. A role
// without identity policies may do everything. The dev default's trailgate
// roles carry the policy trailgate ships (iam/trailgate-role-policy.json).
//
// # Event history
//
// Every call served is recorded as a CloudTrail management event in the
// caller's account and region (us-east-1 for Organizations, IAM and STS),
// with the caller's identity, session name and source identity and the
// request ID the response carried, and cloudtrail:LookupEvents answers from
// that history. It is kept in memory, bounded per account and region.
//
// # Admin endpoint
//
// Paths under /_sandbox/ are the sandbox's own and need no signature:
//
//	GET    /_sandbox/faults   the fault schedule, as {"seed":N,"faults":[…]}
//	PUT    /_sandbox/faults   replace it (POST too); "seed", when present,
//	                          reseeds the fault RNG
//	DELETE /_sandbox/faults   remove every fault
//	GET    /_sandbox/health   200 "ok"
//
// A fault is {"service":"organizations","operation":"EnableAWSServiceAccess",
// "accountId":"…","error":"TooManyRequestsException","latency":"250ms",
// "probability":0.5,"count":3}; see Fault. With "applied":true the request
// takes effect before the fault answers it (a response lost after AWS
// committed the change); "drop":true closes the connection unanswered.
package awssandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultRegion is the sandbox's region unless Options say otherwise.
const DefaultRegion = "us-east-1"

// maxBodyBytes bounds a request body; no API trailgate uses comes close.
const maxBodyBytes = 16 << 20

// adminPrefix is the reserved path of the admin endpoint. An underscore is
// not valid in a bucket name, so no S3 path collides with it.
const adminPrefix = "/_sandbox/"

// Options configure a Sandbox.
type Options struct {
	// StateFile is where state is saved after every change and loaded from
	// on start. Empty keeps state in memory only.
	StateFile string
	// Seed seeds the fault RNG and the generated identifiers (account IDs,
	// access keys), so that the same seed replays the same run.
	Seed int64
	// Faults is the initial fault schedule.
	Faults []Fault
	// PropagationDelay is how long a change takes to show in List* calls
	// (ListAWSServiceAccessForOrganization, ListDelegatedAdministrators,
	// ListAccounts, ListEventDataStores), as AWS is eventually consistent.
	PropagationDelay time.Duration
	// Region is the sandbox's default region (dev profiles, test configs).
	// Default "us-east-1".
	Region string
	// Now is the clock of AWS state (dates, expirations, propagation). Nil
	// means time.Now. Request signatures are always checked against the
	// wall clock, as AWS checks them.
	Now func() time.Time
	// Logger receives failures to save state. Nil means slog.Default().
	Logger *slog.Logger
}

// Sandbox is a local AWS. It is an http.Handler and safe for concurrent use.
type Sandbox struct {
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	st    *state
	ids   idSource
	delay time.Duration
	dirty bool
	// version counts the changes to st; saving saves them (see save.go).
	version uint64
	// pruned is when AssumeRole last looked for keys to forget.
	pruned time.Time
	saving saver

	fmu    sync.Mutex
	faults []Fault
	fired  []int
	rng    *rand.Rand
	seed   int64

	events eventHistory
}

// New returns a sandbox, loading its state from opts.StateFile when the file
// exists.
func New(opts Options) (*Sandbox, error) {
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	st := newState()
	if opts.StateFile != "" {
		var err error
		if st, err = loadState(opts.StateFile); err != nil {
			return nil, fmt.Errorf("start aws sandbox: %w", err)
		}
	}
	for i, f := range opts.Faults {
		if err := f.validate(); err != nil {
			return nil, fmt.Errorf("start aws sandbox: fault %d: %w", i, err)
		}
	}
	s := &Sandbox{
		opts:  opts,
		log:   log,
		st:    st,
		ids:   idSource{seed: opts.Seed, st: st},
		delay: opts.PropagationDelay,
	}
	s.seedFaults(opts.Seed)
	s.SetFaults(opts.Faults)
	return s, nil
}

// Region is the sandbox's default region.
func (s *Sandbox) Region() string { return s.opts.Region }

// SetPropagationDelay changes how long changes take to show in List* calls.
func (s *Sandbox) SetPropagationDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

func (s *Sandbox) now() time.Time { return s.opts.Now().UTC() }

// caller is who signed a request, and where it was sent.
type caller struct {
	key     *accessKey
	account *account
	// user is the IAM user whose key signed, when it is not the account's
	// administrator.
	user    *user
	region  string
	service string

	// call is what the request asks for, and policies are the identity
	// policies of the role whose session signed it (see describeCall).
	call     call
	policies []namedPolicy
}

// arn is the caller's identity as GetCallerIdentity reports it.
func (c *caller) arn() string {
	if c.key.temporary() {
		return "arn:aws:sts::" + c.account.ID + ":assumed-role/" + c.key.RoleName + "/" + c.key.SessionName
	}
	if c.user != nil {
		return c.user.arn(c.account.ID)
	}
	return c.account.userARN()
}

// userID is the caller's unique ID as GetCallerIdentity reports it.
func (c *caller) userID() string {
	if c.key.temporary() {
		if r := c.account.Roles[c.key.RoleName]; r != nil {
			return r.ID + ":" + c.key.SessionName
		}
		return "AROA:" + c.key.SessionName
	}
	if c.user != nil {
		return c.user.ID
	}
	return c.account.UserID
}

// ServeHTTP serves the AWS APIs and the admin endpoint.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	reqID := newRequestID()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	service := requestService(r)
	proto := serviceProtocol(service)
	if err != nil {
		writeError(w, r, proto, service, reqID, errf("SerializationException", "read request body: %v", err))
		return
	}
	if len(body) > maxBodyBytes {
		writeError(w, r, proto, service, reqID, errStatus(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body is larger than %d bytes", maxBodyBytes))
		return
	}

	c, aerr := s.authenticate(r, body, service)
	if aerr != nil {
		writeError(w, r, proto, service, reqID, aerr)
		return
	}
	s.describeCall(r, c, body)
	w, recorded := s.recordEvent(w, r, c, body, reqID)
	defer recorded()

	switch service {
	case "organizations", "cloudtrail":
		s.serveJSON(w, r, c, body, reqID)
	case "iam", "sts":
		s.serveQuery(w, r, c, body, reqID)
	case "s3":
		s.serveS3(w, r, c, body, reqID)
	default:
		writeError(w, r, protoJSON, service, reqID, errf("UnrecognizedClientException", "the trailgate AWS sandbox does not serve %q", service))
	}
}

// requestService is the service a request is for: the credential scope's
// service when signed, otherwise a guess from the request's shape (used only
// to shape the error that an unsigned request gets).
func requestService(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if sc, err := parseAuthorization(auth); err == nil {
			return sc.service
		}
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if strings.HasPrefix(t, "AWSOrganizations") {
			return "organizations"
		}
		return "cloudtrail"
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if r.URL.Query().Get("Version") == "2011-06-15" {
			return "sts"
		}
		return "iam"
	}
	return "s3"
}

func serviceProtocol(service string) protocol {
	switch service {
	case "iam", "sts":
		return protoQuery
	case "s3":
		return protoS3
	}
	return protoJSON
}

// organizationOf is the organization acct belongs to, or nil.
func (s *Sandbox) organizationOf(acct *account) *organization {
	if acct.OrganizationID == "" {
		return nil
	}
	return s.st.Organizations[acct.OrganizationID]
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
