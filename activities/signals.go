package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Signals between a change and its organizations' workflows carry no
// proof of who sent them, and anyone who reaches Temporal can send one.
// So they are only nudges: each side reads what the other says through
// its progress query, with these activities.

// WithTemporal gives the activities the Temporal client that reads
// workflows' progress. (A function, not a method: every exported method of
// Activities is registered as an activity.)
func WithTemporal(a *Activities, c client.Client) *Activities {
	a.temporal = c
	return a
}

// QueryInput names a workflow, one of its queries and the query's argument.
type QueryInput struct {
	WorkflowID string `json:"workflow_id"`
	Query      string `json:"query"`
	Arg        string `json:"arg,omitempty"`
}

// AskWorkflow returns a workflow's answer to a query as it came, for the
// asking workflow to decode into its own types.
func (a *Activities) AskWorkflow(ctx context.Context, in QueryInput) (json.RawMessage, error) {
	if a.temporal == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to read workflows' progress with", "NoTemporalClient", nil)
	}
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var args []any
	if in.Arg != "" {
		args = append(args, in.Arg)
	}
	v, err := a.temporal.QueryWorkflow(qctx, in.WorkflowID, "", in.Query, args...)
	if err != nil {
		return nil, fmt.Errorf("ask %s where it stands: %w", in.WorkflowID, err)
	}
	var raw json.RawMessage
	if err := v.Get(&raw); err != nil {
		return nil, fmt.Errorf("read the progress of %s: %w", in.WorkflowID, err)
	}
	return raw, nil
}
