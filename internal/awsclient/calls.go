package awsclient

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/internal/metrics"
)

// countCalls is an APIOptions entry that counts every call of every client
// built from the configuration it is added to, AssumeRole for a role's
// credentials included. It stands first in the stack's Initialize step, so
// it sees a call once, as the caller does: after the SDK's retryer has
// made its attempts, whose results the call's metadata keeps.
func countCalls(h client.MetricsHandler) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("TrailgateCallMetrics",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				retries := 0
				if attempts, ok := retry.GetAttemptResults(md); ok && len(attempts.Results) > 1 {
					retries = len(attempts.Results) - 1
				}
				metrics.AWSCall(h, middleware.GetServiceID(ctx), middleware.GetOperationName(ctx), callCode(err), retries)
				return out, md, err
			}), middleware.Before)
	}
}

// callCode is the code label of a call that ended with err.
func callCode(err error) string {
	if err == nil {
		return metrics.CodeOK
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		return apiErr.ErrorCode()
	}
	return metrics.CodeNoAnswer
}
