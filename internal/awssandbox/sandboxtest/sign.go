package sandboxtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trailgate/trailgate/internal/awssandbox"
)

// CallerIdentityBody is the body of an STS GetCallerIdentity request.
const CallerIdentityBody = "Action=GetCallerIdentity&Version=2011-06-15"

// CallerIdentityRequest is a GetCallerIdentity request to the sandbox,
// signed by hand as a proof of identity is: with u's key, at signedAt, and
// with header, set before signing, among the signed headers.
func (e *Env) CallerIdentityRequest(u awssandbox.User, signedAt time.Time, header http.Header) *http.Request {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+"/", strings.NewReader(CallerIdentityBody))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for k, v := range header {
		req.Header[k] = v
	}
	sum := sha256.Sum256([]byte(CallerIdentityBody))
	creds := aws.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sts", e.Sandbox.Region(), signedAt); err != nil {
		e.t.Fatal(err)
	}
	return req
}
