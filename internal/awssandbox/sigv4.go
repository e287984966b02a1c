package awssandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateFormat  = "20060102T150405Z"
	// maxClockSkew is how far a request's X-Amz-Date may be from the
	// server's clock, as AWS allows.
	maxClockSkew = 15 * time.Minute
)

// The SigV4 payload hashes S3 accepts besides a hex SHA-256.
const (
	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
)

// signerForVerification recomputes signatures with the AWS SDK's signer.
var signerForVerification = v4.NewSigner()

// scope is a parsed SigV4 Authorization header.
type scope struct {
	accessKeyID   string
	date          string
	region        string
	service       string
	signedHeaders []string
	signature     string
}

func parseAuthorization(h string) (scope, error) {
	var sc scope
	rest, ok := strings.CutPrefix(h, sigV4Algorithm+" ")
	if !ok {
		return sc, errors.New("unsupported authorization type")
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sc, fmt.Errorf("authorization component %q is not key=value", part)
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return sc, fmt.Errorf("credential %q is not <key>/<date>/<region>/<service>/aws4_request", v)
			}
			sc.accessKeyID, sc.date, sc.region, sc.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			sc.signedHeaders = strings.Split(v, ";")
		case "Signature":
			sc.signature = v
		}
	}
	if sc.accessKeyID == "" || len(sc.signedHeaders) == 0 || sc.signature == "" {
		return sc, errors.New("authorization header lacks Credential, SignedHeaders or Signature")
	}
	return sc, nil
}

// authFailure is what went wrong with a request's credentials.
type authFailure int

const (
	authMissing authFailure = iota
	authMalformed
	authUnknownKey
	authBadSignature
	authSkewed
	authExpiredToken
	authInvalidToken
	authContentHash
)

// authSpelling is how the Query or the JSON services spell authentication
// failures: the status and the code of each.
type authSpelling struct {
	status         int
	missing        string
	missingMessage string
	malformed      string
	invalidToken   string
	expired        string
	signature      string
}

var authSpellings = map[protocol]authSpelling{
	protoQuery: {
		status:         403,
		missing:        "MissingAuthenticationToken",
		missingMessage: "Request is missing Authentication Token",
		malformed:      "IncompleteSignature",
		invalidToken:   "InvalidClientTokenId",
		expired:        "ExpiredToken",
		signature:      "SignatureDoesNotMatch",
	},
	protoJSON: {
		status:         400,
		missing:        "MissingAuthenticationTokenException",
		missingMessage: "Missing Authentication Token",
		malformed:      "IncompleteSignatureException",
		invalidToken:   "UnrecognizedClientException",
		expired:        "ExpiredTokenException",
		signature:      "InvalidSignatureException",
	},
}

// authError is the error each service returns for an authentication failure.
func authError(service string, f authFailure, detail string, sc scope) *apiError {
	const (
		invalidToken = "The security token included in the request is invalid."
		expiredToken = "The security token included in the request is expired"
		badSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	)
	proto := serviceProtocol(service)
	if proto == protoS3 {
		return s3AuthError(f, detail, sc)
	}
	sp := authSpellings[proto]
	var e *apiError
	switch f {
	case authMissing:
		e = errf(sp.missing, "%s", sp.missingMessage)
	case authMalformed:
		// A malformed signature is a client error of status 400 everywhere.
		return errf(sp.malformed, "%s", detail)
	case authUnknownKey, authInvalidToken:
		e = errf(sp.invalidToken, invalidToken)
	case authExpiredToken:
		e = errf(sp.expired, expiredToken)
	case authSkewed:
		e = errf(sp.signature, "%s", detail)
	default:
		e = errf(sp.signature, badSignature)
	}
	e.Status = sp.status
	return e
}

// s3AuthError is the error S3 returns for an authentication failure.
func s3AuthError(f authFailure, detail string, sc scope) *apiError {
	switch f {
	case authMissing:
		return errStatus(403, "AccessDenied", "Access Denied")
	case authMalformed:
		return errf("AuthorizationHeaderMalformed", "The authorization header is malformed; %s", detail)
	case authUnknownKey:
		return errStatus(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.").with("AWSAccessKeyId", sc.accessKeyID)
	case authInvalidToken:
		return errf("InvalidToken", "The provided token is malformed or otherwise invalid.")
	case authExpiredToken:
		return errf("ExpiredToken", "The provided token has expired.")
	case authSkewed:
		return errStatus(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	case authContentHash:
		return errf("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	default:
		return errStatus(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.").
			with("AWSAccessKeyId", sc.accessKeyID).with("SignatureProvided", sc.signature)
	}
}

// authenticate verifies a request's SigV4 signature and returns its caller.
func (s *Sandbox) authenticate(r *http.Request, body []byte, service string) (*caller, *apiError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return nil, authError(service, authMalformed, "presigned URLs are not supported by the trailgate AWS sandbox", scope{})
		}
		return nil, authError(service, authMissing, "", scope{})
	}
	sc, err := parseAuthorization(auth)
	if err != nil {
		return nil, authError(service, authMalformed, err.Error(), sc)
	}

	s.mu.Lock()
	key := s.st.Keys[sc.accessKeyID]
	var keyCopy accessKey
	var acct *account
	var signer *user
	if key != nil {
		keyCopy = *key
		acct = s.st.Accounts[key.AccountID]
	}
	if acct != nil && !key.temporary() && key.UserName != acct.UserName {
		signer = acct.Users[key.UserName]
		if signer == nil {
			acct = nil // the key's user is gone, and the key with it
		}
	}
	s.mu.Unlock()
	if key == nil || acct == nil {
		return nil, authError(service, authUnknownKey, "", sc)
	}

	amzDate := r.Header.Get("X-Amz-Date")
	signingTime, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return nil, authError(service, authMalformed, "X-Amz-Date header is missing or is not in the form 20060102T150405Z", sc)
	}
	if sc.date != signingTime.Format("20060102") {
		return nil, authError(service, authMalformed, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP", sc)
	}
	wall := time.Now().UTC()
	if d := wall.Sub(signingTime); d > maxClockSkew || d < -maxClockSkew {
		detail := fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, wall.Add(-maxClockSkew).Format(amzDateFormat), wall.Format(amzDateFormat))
		if d < 0 {
			detail = fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
				amzDate, wall.Add(maxClockSkew).Format(amzDateFormat), wall.Format(amzDateFormat))
		}
		return nil, authError(service, authSkewed, detail, sc)
	}

	payloadHash := ""
	if service == "s3" {
		payloadHash = r.Header.Get("X-Amz-Content-Sha256")
		switch payloadHash {
		case "":
			return nil, errf("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
		case unsignedPayload, streamingUnsignedTrailer, streamingSigned, streamingSignedTrailer:
		default:
			sum := sha256.Sum256(body)
			if !strings.EqualFold(payloadHash, hex.EncodeToString(sum[:])) {
				return nil, authError(service, authContentHash, "", sc)
			}
		}
	} else {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}

	want, err := recomputeSignature(r, sc, keyCopy, payloadHash, signingTime)
	if err != nil {
		return nil, authError(service, authBadSignature, "", sc)
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(sc.signature)) != 1 {
		return nil, authError(service, authBadSignature, "", sc)
	}

	token := r.Header.Get("X-Amz-Security-Token")
	if keyCopy.temporary() {
		if token == "" {
			if service == "s3" {
				return nil, authError(service, authUnknownKey, "", sc)
			}
			return nil, authError(service, authInvalidToken, "", sc)
		}
		if subtle.ConstantTimeCompare([]byte(token), []byte(keyCopy.SessionToken)) != 1 {
			return nil, authError(service, authInvalidToken, "", sc)
		}
		if !s.now().Before(keyCopy.Expiration) {
			return nil, authError(service, authExpiredToken, "", sc)
		}
	} else if token != "" {
		return nil, authError(service, authInvalidToken, "", sc)
	}
	return &caller{key: key, account: acct, user: signer, region: sc.region, service: sc.service}, nil
}

// recomputeSignature signs a copy of r carrying only the headers the client
// signed, with the SDK's signer, and returns the signature it computes.
func recomputeSignature(r *http.Request, sc scope, key accessKey, payloadHash string, signingTime time.Time) (string, error) {
	rawPath, _, _ := strings.Cut(r.RequestURI, "?")
	if rawPath == "" || !strings.HasPrefix(rawPath, "/") {
		rawPath = r.URL.EscapedPath()
	}
	clone, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+"/", http.NoBody)
	if err != nil {
		return "", err
	}
	clone.URL = &url.URL{Scheme: "http", Host: r.Host, Opaque: "//" + r.Host + rawPath, RawQuery: r.URL.RawQuery}
	clone.Host = r.Host
	clone.ContentLength = 0
	clone.Header = http.Header{}
	for _, h := range sc.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			clone.ContentLength = r.ContentLength
			if clone.ContentLength < 0 {
				return "", errors.New("content-length signed but unknown")
			}
		default:
			vals := r.Header.Values(h)
			if len(vals) == 0 {
				return "", fmt.Errorf("signed header %s is absent", h)
			}
			clone.Header[http.CanonicalHeaderKey(h)] = vals
		}
	}
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	err = signerForVerification.SignHTTP(context.Background(), creds, clone, payloadHash, sc.service, sc.region, signingTime,
		func(o *v4.SignerOptions) {
			// S3 signs the path as sent; every other service escapes it again.
			o.DisableURIPathEscaping = sc.service == "s3"
		})
	if err != nil {
		return "", err
	}
	got, err := parseAuthorization(clone.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	if strings.Join(got.signedHeaders, ";") != strings.Join(sc.signedHeaders, ";") {
		return "", errors.New("signed headers differ")
	}
	return got.signature, nil
}

// decodeAWSChunked strips the aws-chunked framing of a streaming S3 body,
// returning the payload.
func decodeAWSChunked(body []byte) ([]byte, error) {
	var out bytes.Buffer
	for {
		line, rest, ok := bytes.Cut(body, []byte("\r\n"))
		if !ok {
			return nil, errors.New("truncated aws-chunked body")
		}
		sizeHex, _, _ := bytes.Cut(line, []byte(";"))
		var size int
		if _, err := fmt.Sscanf(string(sizeHex), "%x", &size); err != nil {
			return nil, fmt.Errorf("bad chunk size %q", sizeHex)
		}
		if size == 0 {
			return out.Bytes(), nil
		}
		if len(rest) < size+2 {
			return nil, errors.New("truncated aws-chunked chunk")
		}
		out.Write(rest[:size])
		body = rest[size+2:]
	}
}
