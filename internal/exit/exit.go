// Package exit holds the exit statuses trailgate's commands end with, which
// scripts can rely on. Both mains, trailgate and trailgate-worker, end with
// them.
package exit

import (
	"errors"

	"github.com/trailgate/trailgate/config"
)

// The exit statuses.
const (
	// OK: the command did what was asked.
	OK = 0
	// Failed: the command failed for a reason other than its input.
	Failed = 1
	// Usage: the configuration or the flags are the user's to fix before
	// anything starts.
	Usage = 2
)

// Code is the exit status for an error a command ends with: OK for nil,
// Usage for configuration problems (a *config.ValidationError anywhere in
// the chain), Failed for anything else.
func Code(err error) int {
	var verr *config.ValidationError
	switch {
	case err == nil:
		return OK
	case errors.As(err, &verr):
		return Usage
	default:
		return Failed
	}
}
