// Package activities holds trailgate's I/O: every AWS call and every
// notification, as Temporal activities. AWS errors become typed application
// errors here, once.
package activities

import (
	"context"

	"github.com/trailgate/trailgate/config"
)

// Activities carries the clients that trailgate's activities use; it is
// registered with a worker as a whole.
type Activities struct {
	cfg config.Config
}

// New builds the activities for a worker from its configuration.
func New(ctx context.Context, cfg config.Config) (*Activities, error) {
	return &Activities{cfg: cfg}, nil
}
