package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
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
	// ErrBucketMismatch: the managed trail exists and logs to another
	// bucket than trail.bucket; trailgate never moves a trail's logs.
	ErrBucketMismatch = "BucketMismatch"
	// ErrProbeRoleRefused: the member-account probe's role cannot be
	// assumed from the management account.
	ErrProbeRoleRefused = "ProbeRoleRefused"
)

// delegatedAdministratorsSetting names where delegated administrators are
// configured, for the fixes that send people there.
const delegatedAdministratorsSetting = "trail.delegated_administrators (or the organization's own delegated_administrators)"

// notImplemented is the fix when an endpoint lacks an API call: another AWS
// implementation answers so (IAM's InvalidAction, HTTP 400), and no retry
// gives it the call.
const notImplemented = "the endpoint does not implement this API call: point aws.endpoint_url at AWS or at an AWS implementation that has it"

// fixes say what a person should do about an AWS error code. They do not
// decide whether an error is retried: retryable does.
var fixes = map[string]string{
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
	"AccountNotFoundException":                               "the account is not a member of the organization: fix " + delegatedAdministratorsSetting,
	"CannotDelegateManagementAccountException":               "the management account cannot be its own delegated administrator: remove it from " + delegatedAdministratorsSetting,
	"DelegatedAdminAccountLimitExceededException":            "CloudTrail allows three delegated administrators: deregister one (aws cloudtrail deregister-organization-delegated-admin) or shorten " + delegatedAdministratorsSetting,
	"NotOrganizationManagementAccountException":              "register delegated administrators as the management account: set role_arn to a role in it",
	"InvalidParameterException":                              "CloudTrail refuses a parameter: check that " + delegatedAdministratorsSetting + " are 12-digit account IDs, or report it with the message",
	"InvalidAction":                                          notImplemented,
	"UnknownOperationException":                              notImplemented,
	"NotImplemented":                                         notImplemented,
}

// retryables is the AWS SDK's own notion of a transient error (throttling,
// HTTP 500, 502, 503 and 504, connection errors and timeouts, clock skew),
// plus a concurrent modification, which the SDK does not retry although it
// clears when the other request ends. IAM and S3 spell it their own way;
// CloudTrail says ConflictException for a resource not ready yet.
var retryables = retry.IsErrorRetryables(append(append([]retry.IsErrorRetryable{}, retry.DefaultRetryables...),
	retry.RetryableErrorCode{Codes: map[string]struct{}{
		"ConcurrentModificationException": {},
		"ConcurrentModification":          {},
		"OperationAborted":                {},
		"ConflictException":               {},
	}},
))

// retryable reports whether another attempt of the call may succeed. A
// canceled call or one out of time is retryable: whether to try again is
// Temporal's decision (the activity's timeouts and retry policy), not AWS's.
func retryable(err error) bool {
	var canceled interface{ CanceledError() bool }
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &canceled) && canceled.CanceledError()) {
		return true
	}
	return retryables.IsErrorRetryable(err) == aws.TrueTernary
}

// awsError turns an AWS SDK error into a Temporal application error, once, at
// the border. An error the AWS SDK deems transient, or a concurrent
// modification, is retried by the activity's retry policy, after the
// server's hint when AWS gives one. Any other error fails at once, naming the
// API call and AWS's answer, with what to do where that is known: a call that
// a retry cannot fix must not sit in retries for the whole retry budget.
func awsError(doing string, err error) error {
	if err == nil {
		return nil
	}
	call, cause := apiCall(err)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		msg := fmt.Sprintf("%s: %v", doing, err)
		if call != "" {
			msg = fmt.Sprintf("%s: %s: %v", doing, call, cause)
		}
		if !retryable(err) {
			return temporal.NewNonRetryableApplicationError(msg+" (not retried)", "AWSTransportError", err)
		}
		return temporal.NewApplicationErrorWithCause(msg, "AWSTransportError", err)
	}
	code := apiErr.ErrorCode()
	if call == "" {
		call = "AWS"
	}
	answer := code
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() != 0 {
		answer = fmt.Sprintf("%s (HTTP %d)", code, status.HTTPStatusCode())
	}
	msg := fmt.Sprintf("%s: %s answered %s: %s", doing, call, answer, apiErr.ErrorMessage())
	if !retryable(err) {
		if fix, ok := fixes[code]; ok {
			return temporal.NewNonRetryableApplicationError(msg+" (to fix: "+fix+")", code, err)
		}
		return temporal.NewNonRetryableApplicationError(msg+" (not retried)", code, err)
	}
	return temporal.NewApplicationErrorWithOptions(msg, code, temporal.ApplicationErrorOptions{
		Cause:          err,
		NextRetryDelay: retryAfter(err),
	})
}

// apiCall names the API call that failed as IAM names its action
// (iam:CreateServiceLinkedRole), and returns that call's own error. When a
// call failed in another (organizations:DescribeOrganization failing in
// sts:AssumeRole for its credentials), the innermost is the one that
// answered, and both are named.
func apiCall(err error) (string, error) {
	var names []string
	cause := err
	for {
		var op *smithy.OperationError
		if !errors.As(cause, &op) {
			break
		}
		names = append(names, strings.ToLower(strings.ReplaceAll(op.ServiceID, " ", ""))+":"+op.OperationName)
		cause = op.Err
	}
	switch len(names) {
	case 0:
		return "", err
	case 1:
		return names[0], cause
	}
	return fmt.Sprintf("%s (on behalf of %s)", names[len(names)-1], names[0]), cause
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

// regionNotEnabled reports whether a region refused a call because the
// account has not enabled it (an opt-in region): AWS then does not know
// the credentials there. JSON services such as CloudTrail answer
// UnrecognizedClientException, Query services InvalidClientTokenId, and
// some OptInRequired. Only a region other than one that has just answered
// with the same credentials may be read so: elsewhere these codes mean
// wrong credentials.
func regionNotEnabled(err error) bool {
	return isCode(err, "UnrecognizedClientException", "InvalidClientTokenId", "OptInRequired")
}

// isNonRetryable reports whether an application error must not be retried.
func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}
