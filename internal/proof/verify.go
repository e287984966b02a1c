package proof

import (
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxAge is how long a proof lasts: as long as STS accepts a SigV4
// signature, 15 minutes either side of its clock.
const maxAge = 15 * time.Minute

// maxAnswerBytes bounds what the worker reads of an STS answer.
const maxAnswerBytes = 1 << 20

// signAgain ends the message of a refusal that a new proof mends.
const signAgain = "run the command again with trailgate"

// Verifier checks a proof and asks STS who signed it.
type Verifier struct {
	// Endpoint is the STS endpoint the worker trusts (its configuration),
	// e.g. https://sts.amazonaws.com.
	Endpoint string
	// HTTP sends the request to STS. Nil means a client with a 10 s timeout
	// that follows no redirects.
	HTTP *http.Client
	// Now is the worker's clock. Nil means time.Now.
	Now func() time.Time
}

// Caller is who STS says signed the proof.
type Caller struct {
	ARN, Account, UserID string
}

// Verify checks that the body is exactly a GetCallerIdentity call; that
// Header is present and signed; that the request was signed for the
// verifier's endpoint; and that it was signed within 15 minutes of Now, past
// or future. Then it sends the request with its signed headers to
// v.Endpoint (never to r.URL: the worker calls no URL a proof chose) and
// returns whom STS names. A proof that fails a check, or that STS refuses,
// fails with a *Refusal; network errors, throttling and 5xx are plain
// errors, worth retrying.
func (v Verifier) Verify(ctx context.Context, r Request) (Caller, error) {
	endpoint, err := endpointURL(v.Endpoint)
	if err != nil {
		return Caller{}, fmt.Errorf("verify proof of identity: %w", err)
	}
	auth, err := v.check(endpoint, r)
	if err != nil {
		return Caller{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(r.Body))
	if err != nil {
		return Caller{}, fmt.Errorf("verify proof of identity with %s: %w", endpoint, err)
	}
	for _, h := range auth.signedHeaders {
		value, _ := r.header(h)
		switch h {
		case "host":
			req.Host = value
		case "content-length":
			// The client sends the body's length, which check compared.
		default:
			req.Header.Set(h, value)
		}
	}
	signature, _ := r.header("Authorization")
	req.Header.Set("Authorization", signature)
	client := v.HTTP
	if client == nil {
		client = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return Caller{}, fmt.Errorf("ask STS at %s who signed the proof: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return Caller{}, fmt.Errorf("ask STS at %s who signed the proof: read its answer: %w", endpoint, err)
	}
	return answer(endpoint, resp.StatusCode, body)
}

// check refuses, without asking STS, a proof that STS must not be asked
// about, and returns its parsed Authorization header.
func (v Verifier) check(endpoint *url.URL, r Request) (authorization, error) {
	malformed := func(format string, args ...any) (authorization, error) {
		return authorization{}, refuse(RefusedMalformed, fmt.Sprintf(format, args...)+": "+signAgain)
	}
	if r.Body != callerIdentityBody {
		return malformed("the proof is not an sts:GetCallerIdentity call")
	}
	// A header named twice could show Binding one value and STS another.
	seen := map[string]bool{}
	for name := range r.Headers {
		if seen[strings.ToLower(name)] {
			return malformed("the proof names header %s twice", name)
		}
		seen[strings.ToLower(name)] = true
	}
	header, _ := r.header("Authorization")
	auth, err := parseAuthorization(header)
	if err != nil {
		return malformed("the proof is not signed: %v", err)
	}
	if auth.service != stsService {
		return malformed("the proof was signed for service %q, not %s", auth.service, stsService)
	}
	if r.Binding() == "" || !auth.signs(Header) {
		return authorization{}, refuse(RefusedNotBound, "the proof is not bound to a decision: its "+Header+" header is missing or not signed: "+signAgain)
	}
	if !signedAsIs(r.Binding()) {
		return malformed("the proof's decision %q starts or ends with spaces or repeats them, so its signature fits other decisions too", r.Binding())
	}
	for _, h := range auth.signedHeaders {
		if _, ok := r.header(h); !ok {
			return malformed("the proof lacks the header %s, which it signed", h)
		}
	}
	if !auth.signs("host") {
		return malformed("the proof's signature does not cover its host")
	}
	if n, ok := r.header("Content-Length"); ok && auth.signs("content-length") && n != strconv.Itoa(len(r.Body)) {
		return malformed("the proof's Content-Length %s is not the length of its body", n)
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return malformed("the proof's URL %q does not parse", r.URL)
	}
	host, _ := r.header("Host")
	if !sameHost(endpoint, host) || !sameHost(endpoint, u.Host) || cmp.Or(u.Path, "/") != endpoint.Path {
		return authorization{}, refuse(RefusedOtherEndpoint, fmt.Sprintf(
			"the proof was signed for STS at %s (host %s), but this worker asks STS at %s: set identity.sts_endpoint in the CLI's configuration to %s and run the command again",
			r.URL, host, endpoint, v.Endpoint))
	}
	signedAt, err := r.SignedAt()
	if err != nil {
		return malformed("%v", err)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	switch age := now().Sub(signedAt); {
	case age > maxAge:
		return authorization{}, refuse(RefusedExpired, fmt.Sprintf(
			"the proof was signed %s ago; proofs last 15 minutes as SigV4 signatures do: run the command again", roughly(age)))
	case age < -maxAge:
		return authorization{}, refuse(RefusedExpired, fmt.Sprintf(
			"the proof was signed %s ahead of the worker's clock; proofs last 15 minutes either side of it as SigV4 signatures do: set the clock of the computer that signed it right and run the command again", roughly(-age)))
	}
	return auth, nil
}

// roughly is d to the minute ("22m", "1h5m"), or to the second under a
// minute.
func roughly(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// retryable are STS error codes that say STS could not answer now, not that
// the proof is bad.
var retryable = map[string]bool{
	"Throttling":           true,
	"ThrottlingException":  true,
	"RequestLimitExceeded": true,
	"ServiceUnavailable":   true,
	"InternalFailure":      true,
}

// answer reads STS's answer to a replayed proof.
func answer(endpoint *url.URL, status int, body []byte) (Caller, error) {
	if status == http.StatusOK {
		var out struct {
			Result struct {
				Arn     string `xml:"Arn"`
				Account string `xml:"Account"`
				UserID  string `xml:"UserId"`
			} `xml:"GetCallerIdentityResult"`
		}
		if err := xml.Unmarshal(body, &out); err != nil || out.Result.Arn == "" {
			return Caller{}, fmt.Errorf("ask STS at %s who signed the proof: the answer is not a GetCallerIdentity result: %q", endpoint, abbreviate(string(body)))
		}
		return Caller{ARN: out.Result.Arn, Account: out.Result.Account, UserID: out.Result.UserID}, nil
	}
	var e struct {
		Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	_ = xml.Unmarshal(body, &e)
	code, message := e.Error.Code, e.Error.Message
	if status < 400 || status >= 500 || status == http.StatusTooManyRequests || code == "" || retryable[code] {
		return Caller{}, fmt.Errorf("ask STS at %s who signed the proof: status %d %s: %s", endpoint, status, code, cmp.Or(message, abbreviate(string(body))))
	}
	return Caller{}, refuse(RefusedBySTS, fmt.Sprintf("STS refused the proof: %s: %s; %s", code, message, stsAdvice(code)))
}

// stsAdvice says what to do about an STS error code.
func stsAdvice(code string) string {
	switch code {
	case "SignatureDoesNotMatch", "IncompleteSignature":
		return "the proof was changed after it was signed, or signed with a secret key that is not its access key's: run the command again with your own AWS credentials"
	case "InvalidClientTokenId":
		return "STS does not know the access key that signed it: check your AWS credentials (aws sts get-caller-identity) and run the command again"
	case "ExpiredToken":
		return "your AWS session has expired: renew your credentials (for example with aws sso login) and run the command again"
	}
	return "check your AWS credentials and run the command again"
}
