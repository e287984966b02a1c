package cli

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/exit"
	"github.com/trailgate/trailgate/workflows"
)

// Exit statuses of the change commands, which scripts can rely on.
const (
	// ExitDone: the command did what was asked; for a change followed to
	// its end (--wait, --watch), the change ended verified.
	ExitDone = exit.OK
	// ExitChangeFailed: the change failed, was rejected, expired, halted or
	// was cancelled, or trailgate could not reach Temporal or AWS.
	ExitChangeFailed = exit.Failed
	// ExitUsage: a usage, configuration or validation error, or a refusal
	// at a gate; nothing was changed.
	ExitUsage = exit.Usage
)

// exitError is an error that carries the exit status a command ends with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usage marks err as the user's to fix: exit status 2.
func usage(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: ExitUsage, err: err}
}

// refusal is the worker's refusal of a decision or a request: a gate's
// rule, or a proof of identity that does not hold. Exit status 2.
type refusal struct {
	// by is who refused: "change <id>", or "the worker".
	by     string
	reason string
}

func (r *refusal) Error() string {
	return fmt.Sprintf("refused by %s: %s", r.by, r.reason)
}

// changeOutcome is a change that ended without doing what was asked: exit
// status 1.
type changeOutcome struct {
	progress workflows.ChangeProgress
}

func (o *changeOutcome) Error() string {
	p := o.progress
	msg := fmt.Sprintf("change %s ended %s", p.ChangeID, p.Phase)
	if p.Failed > 0 {
		msg += fmt.Sprintf(" (%d organization(s) failed)", p.Failed)
	}
	for _, t := range p.Targets {
		if t.Error != "" {
			msg += fmt.Sprintf("\n  %s: %s", t.Organization, shortError(t.Error))
		}
	}
	return msg
}

// outcomeError is nil when a change's final phase is successful, and a
// *changeOutcome (exit status 1) otherwise.
func outcomeError(p workflows.ChangeProgress) error {
	if p.Phase.Successful() {
		return nil
	}
	return &changeOutcome{progress: p}
}

// endedError is outcomeError of a change that has ended, and nil for one
// that goes on.
func endedError(p workflows.ChangeProgress) error {
	if !p.Phase.Final() {
		return nil
	}
	return outcomeError(p)
}

// ExitStatus is the exit status for the error a command ended with: 0 for
// nil, 2 for usage, configuration and validation errors and refusals at a
// gate, 1 for everything else (a change that ended unsuccessfully, Temporal
// or AWS unreachable).
func ExitStatus(err error) int {
	var (
		coded   *exitError
		refused *refusal
	)
	switch {
	case err == nil:
		return ExitDone
	case errors.As(err, &coded):
		return coded.code
	case errors.As(err, &refused):
		return ExitUsage
	case exit.Code(err) == exit.Usage:
		return ExitUsage
	}
	return ExitChangeFailed
}

// explain turns what Temporal answered about a change into an error a
// person can act on.
func explain(err error, changeID, doing string) error {
	if err == nil {
		return nil
	}
	var (
		notFound *serviceerror.NotFound
		started  *serviceerror.WorkflowExecutionAlreadyStarted
		invalid  *serviceerror.InvalidArgument
		app      *temporal.ApplicationError
		coded    *exitError
		refused  *refusal
		outcome  *changeOutcome
		timeout  *client.WorkflowUpdateServiceTimeoutOrCanceledError
		deadline *serviceerror.DeadlineExceeded
		expired  *temporal.TimeoutError
	)
	switch {
	case errors.As(err, &coded), errors.As(err, &refused), errors.As(err, &outcome):
		return err
	case errors.As(err, &notFound):
		return usage(fmt.Errorf("no change %s; `trailgate list` shows the changes", changeID))
	case errors.As(err, &started):
		return usage(fmt.Errorf("change %s already exists; choose another --change-id, or see `trailgate status %s`", changeID, changeID))
	case errors.As(err, &invalid):
		return usage(fmt.Errorf("%s change %s: %s", doing, changeID, invalid.Message))
	case errors.As(err, &app):
		return &refusal{by: "change " + changeID, reason: app.Message()}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout), errors.As(err, &deadline), errors.As(err, &expired):
		return &silentWorker{doing: doing, changeID: changeID, err: err}
	}
	return fmt.Errorf("%s change %s: %w", doing, changeID, err)
}

// silentWorker is a change's worker not answering in time: none runs, or
// Temporal has not yet handed the change over from one that died.
type silentWorker struct {
	doing, changeID string
	err             error
}

func (e *silentWorker) Error() string {
	return fmt.Sprintf("%s change %s: the worker did not answer in time (is trailgate-worker running? `trailgate doctor` checks); a decision sent may still be taken when it returns, and `trailgate status %s` will show it: %v", e.doing, e.changeID, e.changeID, e.err)
}

func (e *silentWorker) Unwrap() error { return e.err }
