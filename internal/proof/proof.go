// Package proof lets people prove who they are with their own AWS identity,
// as HashiCorp Vault's aws auth method does. The CLI signs an
// sts:GetCallerIdentity request with the person's AWS credentials, binds it
// to one decision with a signed header, and seals it to the worker's public
// key, so that no access key ID or session token reaches Temporal's history
// in clear. The worker opens the proof, checks it, and replays it to the STS
// endpoint the worker trusts; STS answers with the ARN of whoever signed it.
package proof

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Header carries the decision a proof is bound to; it must be among the
// SigV4 signed headers.
const Header = "X-Trailgate-Decision"

// Request is a signed sts:GetCallerIdentity request, as the worker replays
// it.
type Request struct {
	// URL is where it was signed for, e.g. https://sts.amazonaws.com/ or
	// http://127.0.0.1:4566/; the worker never calls it.
	URL string `json:"url"`
	// Headers are every header that was signed (canonical names), plus
	// Authorization, X-Amz-Date and X-Amz-Security-Token when present.
	Headers map[string]string `json:"headers"`
	// Body is "Action=GetCallerIdentity&Version=2011-06-15".
	Body string `json:"body"`
}

const (
	// callerIdentityBody is the one call a proof may make.
	callerIdentityBody = "Action=GetCallerIdentity&Version=2011-06-15"
	formContentType    = "application/x-www-form-urlencoded; charset=utf-8"
	amzDateFormat      = "20060102T150405Z"
	stsService         = "sts"
)

// Sign builds and signs (SigV4, service "sts") a POST GetCallerIdentity
// request to endpoint with creds, binding it to binding (the value of
// Header, which is signed), at time at. region is the signing region
// (us-east-1 for the global endpoint).
func Sign(ctx context.Context, creds aws.CredentialsProvider, endpoint, region, binding string, at time.Time) (Request, error) {
	switch {
	case binding == "":
		return Request{}, errors.New("sign proof of identity: no decision to bind it to")
	case !signedAsIs(binding):
		return Request{}, fmt.Errorf("sign proof of identity: the decision %q starts or ends with spaces or repeats them, which SigV4 does not sign as they are", binding)
	case region == "":
		return Request{}, errors.New("sign proof of identity: no signing region (us-east-1 for the global STS endpoint)")
	case creds == nil:
		return Request{}, errors.New("sign proof of identity: no AWS credentials: configure an AWS profile or set AWS_PROFILE")
	}
	u, err := endpointURL(endpoint)
	if err != nil {
		return Request{}, fmt.Errorf("sign proof of identity: %w", err)
	}
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return Request{}, fmt.Errorf("sign proof of identity: get your AWS credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(callerIdentityBody))
	if err != nil {
		return Request{}, fmt.Errorf("sign proof of identity for %s: %w", u, err)
	}
	req.Header.Set("Content-Type", formContentType)
	req.Header.Set(Header, binding)
	sum := sha256.Sum256([]byte(callerIdentityBody))
	if err := v4.NewSigner().SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), stsService, region, at.UTC()); err != nil {
		return Request{}, fmt.Errorf("sign proof of identity for %s: %w", u, err)
	}
	auth, err := parseAuthorization(req.Header.Get("Authorization"))
	if err != nil {
		return Request{}, fmt.Errorf("sign proof of identity for %s: %w", u, err)
	}
	out := Request{URL: u.String(), Headers: map[string]string{"Authorization": req.Header.Get("Authorization")}, Body: callerIdentityBody}
	for _, h := range auth.signedHeaders {
		switch h {
		case "host":
			out.Headers["Host"] = cmp.Or(req.Host, req.URL.Host)
		case "content-length":
			out.Headers["Content-Length"] = strconv.FormatInt(req.ContentLength, 10)
		default:
			out.Headers[http.CanonicalHeaderKey(h)] = strings.Join(req.Header.Values(h), ",")
		}
	}
	return out, nil
}

// Binding is the value of Header in the request ("" when absent).
func (r Request) Binding() string {
	v, _ := r.header(Header)
	return v
}

// signedAsIs reports whether SigV4 signs a header value as it is: it trims
// the value and collapses runs of spaces first, so "a  b" and "a b" carry
// the same signature and could name different decisions.
func signedAsIs(value string) bool {
	return value == strings.TrimSpace(value) && !strings.Contains(value, "  ")
}

// SignedAt is the request's X-Amz-Date.
func (r Request) SignedAt() (time.Time, error) {
	v, ok := r.header("X-Amz-Date")
	if !ok {
		return time.Time{}, errors.New("the proof has no X-Amz-Date header")
	}
	t, err := time.Parse(amzDateFormat, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("the proof's X-Amz-Date %q is not a SigV4 date such as 20060102T150405Z", v)
	}
	return t, nil
}

// header looks a header up by name, ignoring case as HTTP does. Verify
// refuses requests that name a header twice, so that the value found here
// is the one STS checked.
func (r Request) header(name string) (string, bool) {
	if v, ok := r.Headers[name]; ok {
		return v, true
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// endpointURL parses an STS endpoint; its path, when empty, is "/", as it
// is signed.
func endpointURL(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("the STS endpoint %q is not an http(s) URL such as https://sts.amazonaws.com: set identity.sts_endpoint", endpoint)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// sameHost reports whether host is the host of endpoint u, ignoring case
// and the default port of u's scheme, which the signer leaves out.
func sameHost(u *url.URL, host string) bool {
	norm := func(h string) string {
		h = strings.ToLower(h)
		if u.Scheme == "https" {
			return strings.TrimSuffix(h, ":443")
		}
		return strings.TrimSuffix(h, ":80")
	}
	return norm(host) == norm(u.Host)
}

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	service       string
	signedHeaders []string
}

func parseAuthorization(h string) (authorization, error) {
	var a authorization
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return a, errors.New("the Authorization header is not a SigV4 (AWS4-HMAC-SHA256) signature")
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return a, fmt.Errorf("the Authorization header's credential %q is not <key>/<date>/<region>/<service>/aws4_request", v)
			}
			a.service = f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		}
	}
	if a.service == "" || len(a.signedHeaders) == 0 {
		return a, errors.New("the Authorization header lacks Credential or SignedHeaders")
	}
	return a, nil
}

func (a authorization) signs(header string) bool {
	return slices.Contains(a.signedHeaders, strings.ToLower(header))
}
