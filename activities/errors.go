package activities

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.temporal.io/sdk/temporal"
)

// Application error types that trailgate's own checks raise.
const (
	ErrNotManagementAccount = "NotManagementAccount"
	ErrNotAllFeatures       = "NotAllFeatures"
	ErrNotYetVisible        = "NotYetVisible"
	ErrBucketTaken          = "BucketOwnedByAnotherAccount"
	ErrWebhookRefused       = "WebhookRefused"
)

// notRetryable are AWS error codes that no retry can fix, with what a person
// should do about each.
var notRetryable = map[string]string{
	"AccessDeniedException":                                  "grant the caller the Organizations and CloudTrail permissions trailgate needs, or act as the management account",
	"AccessDenied":                                           "check the role's trust policy, its external ID and the caller's permissions",
	"AWSOrganizationsNotInUseException":                      "the account is not in an organization: check management_account_id",
	"ConstraintViolationException":                           "the organization refuses the change: read the message and fix the organization's settings",
	"InvalidInput":                                           "trailgate sent input IAM refuses: report it with the message",
	"InvalidInputException":                                  "trailgate sent input AWS refuses: report it with the message",
	"UnsupportedAPIEndpointException":                        "call Organizations in us-east-1 (check aws.endpoint_url)",
	"CloudTrailAccessNotEnabledException":                    "enable trusted access for cloudtrail.amazonaws.com first",
	"NotOrganizationMasterAccountException":                  "create organization trails from the management account",
	"InsufficientS3BucketPolicyException":                    "give the trail bucket the organization-trail bucket policy",
	"InsufficientDependencyServiceAccessPermissionException": "create the service-linked role AWSServiceRoleForCloudTrail",
	"OrganizationNotInAllFeaturesModeException":              "enable all features in the organization (aws organizations enable-all-features)",
	"InvalidClientTokenId":                                   "the access key is unknown: fix the credentials",
	"UnrecognizedClientException":                            "the access key is unknown: fix the credentials",
	"SignatureDoesNotMatch":                                  "the secret key is wrong: fix the credentials",
	"InvalidSignatureException":                              "the secret key is wrong: fix the credentials",
	"InvalidTrailNameException":                              "fix trail.name",
	"S3BucketDoesNotExistException":                          "create the trail bucket or fix trail.bucket",
	"InvalidBucketName":                                      "fix trail.bucket",
	"MalformedPolicy":                                        "report it: trailgate wrote a bucket policy S3 refuses",
}

// awsError turns an AWS SDK error into a Temporal application error, once, at
// the border: codes that no retry can fix fail fast with what to do; the rest
// are retried by the activity's retry policy, after the server's hint when
// AWS gives one.
func awsError(doing string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return temporal.NewApplicationErrorWithCause(fmt.Sprintf("%s: %v", doing, err), "AWSTransportError", err)
	}
	code := apiErr.ErrorCode()
	msg := fmt.Sprintf("%s: %s: %s", doing, code, apiErr.ErrorMessage())
	if fix, ok := notRetryable[code]; ok {
		return temporal.NewNonRetryableApplicationError(msg+" (to fix: "+fix+")", code, err)
	}
	return temporal.NewApplicationErrorWithOptions(msg, code, temporal.ApplicationErrorOptions{
		Cause:          err,
		NextRetryDelay: retryAfter(err),
	})
}

// retryAfter reads the Retry-After hint of a throttled response, in seconds
// or as an HTTP date; zero means no hint.
func retryAfter(err error) time.Duration {
	var respErr *smithyhttp.ResponseError
	if !errors.As(err, &respErr) || respErr.Response == nil {
		return 0
	}
	h := respErr.Response.Header.Get("Retry-After")
	if h == "" {
		return 0
	}
	if secs, perr := strconv.Atoi(h); perr == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, perr := http.ParseTime(h); perr == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// isCode reports whether err is an AWS API error with one of the codes.
func isCode(err error, codes ...string) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.ErrorCode() == c {
			return true
		}
	}
	return false
}

// hasBeenTaken reports whether IAM refused to create a service-linked role
// because it exists already.
func hasBeenTaken(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.Contains(apiErr.ErrorMessage(), "has been taken")
}

// isNonRetryable reports whether an application error must not be retried.
func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}
