package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// ListCommandInput lists changes: `trailgate list`.
type ListCommandInput struct {
	// Limit caps how many changes are listed, newest first; zero means 100.
	Limit int
}

func (in ListCommandInput) validate() error {
	if in.Limit < 0 {
		return usage(fmt.Errorf("--limit must be 1 or more (0: 100)"))
	}
	return nil
}

// List lists the changes Temporal knows, newest first.
func List(ctx context.Context, s *session, in ListCommandInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 100
	}
	listed, err := s.changes.list(ctx, limit)
	if err != nil {
		return err
	}
	if s.out.json {
		return writeJSON(s.out.stdout, listed)
	}
	return writeChangeList(s.out.stdout, listed)
}

func newListCommand(open openSession) *cobra.Command {
	var in ListCommandInput
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List changes, newest first: change ID, action, phase, start time",
		Args:  cobra.NoArgs,
	}
	runs(cmd, open, func(ctx context.Context, s *session) error { return List(ctx, s, in) })
	cmd.Flags().IntVar(&in.Limit, "limit", 100, "list at most this many changes")
	return cmd
}
