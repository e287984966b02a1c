package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
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

// Answer is one workflow's answer to a query asked by AskWorkflows: what it
// said, or why it could not be asked.
type Answer struct {
	Said  json.RawMessage `json:"said,omitempty"`
	Error string          `json:"error,omitempty"`
}

// askAtOnce is how many queries AskWorkflows has in flight.
const askAtOnce = 16

// AskWorkflows asks many workflows at once, each answer in the place of its
// question. One that cannot be asked has its error in its answer; the
// others are answered all the same.
func (a *Activities) AskWorkflows(ctx context.Context, in []QueryInput) ([]Answer, error) {
	if a.temporal == nil {
		return nil, temporal.NewNonRetryableApplicationError("this worker has no Temporal client to read workflows' progress with", "NoTemporalClient", nil)
	}
	out := make([]Answer, len(in))
	var wg sync.WaitGroup
	slots := make(chan struct{}, askAtOnce)
	for i, q := range in {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			said, err := a.AskWorkflow(ctx, q)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Said = said
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}
