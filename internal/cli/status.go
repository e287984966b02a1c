package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/workflows"
)

// StatusCommandInput asks where a change stands: `trailgate status`.
type StatusCommandInput struct {
	ChangeID string
	// Watch follows the change until it ends.
	Watch bool
	// UntilGate, with Watch, stops also when the change waits for people.
	UntilGate bool
	// Organizations lists every organization, however many; otherwise a
	// change over many is summarised.
	Organizations bool
}

func (in StatusCommandInput) validate() error {
	problems := changeIDProblems(in.ChangeID)
	if in.UntilGate && !in.Watch {
		problems = append(problems, "--until-gate goes with --watch")
	}
	return problemsError(problems)
}

// Status shows where a change stands; with Watch it follows the change. A
// change that ended unsuccessfully exits with status 1.
func Status(ctx context.Context, s *session, in StatusCommandInput) error {
	if err := in.validate(); err != nil {
		return err
	}
	p, e, err := s.changes.progress(ctx, in.ChangeID)
	if err != nil && !(in.Watch && e.Running() && unanswered(ctx, err)) {
		return err
	}
	if in.Watch && e.Running() {
		// A worker that died mid-change leaves its workflows to others,
		// which answer once Temporal hands them over: following waits
		// for them, where a single look reports the silence.
		until := followToEnd
		if in.UntilGate {
			until = followToGate
			if waitsForPeople(p) {
				return s.printStatus(ctx, p, e, in.Organizations)
			}
		}
		s.out.printLink(in.ChangeID)
		return s.followAndReport(ctx, in.ChangeID, followOptions{until: until, unanswered: err})
	}
	return s.printStatus(ctx, p, e, in.Organizations)
}

// unanswered says whether err is a running change's worker not answering
// in time, while the command itself has time left.
func unanswered(ctx context.Context, err error) bool {
	var silent *silentWorker
	return ctx.Err() == nil && errors.As(err, &silent)
}

func (s *session) printStatus(ctx context.Context, p workflows.ChangeProgress, e changeExecution, every bool) error {
	var retrying []Retry
	if e.Running() {
		retrying = s.changes.retries(ctx, p)
	}
	err := s.out.print(statusJSON{p, retrying}, func(w io.Writer) {
		writeStatus(w, p, e, s.out.changeURL(p.ChangeID), every)
		writeRetrying(w, retrying)
	})
	if err != nil {
		return err
	}
	return endedError(p)
}

func newStatusCommand(open openSession) *cobra.Command {
	var in StatusCommandInput
	cmd := &cobra.Command{
		Use:   "status <change-id>",
		Short: "Show where a change stands: phase, waves, organizations and what it awaits from whom",
		Example: "  trailgate status enable-20260101-020000-ab12 --watch\n" +
			"  trailgate status enable-20260101-020000-ab12 --json",
	}
	aboutChange(cmd, open, &in.ChangeID, func(ctx context.Context, s *session) error { return Status(ctx, s, in) })
	cmd.Flags().BoolVarP(&in.Watch, "watch", "w", false, "follow the change until it ends; the exit status says how it ended")
	cmd.Flags().BoolVar(&in.UntilGate, "until-gate", false, "with --watch, stop also when the change waits for people at a gate")
	cmd.Flags().BoolVar(&in.Organizations, "organizations", false, fmt.Sprintf("list every organization; a change over more than %d lists only those that failed or wait, and counts the rest by phase", statusOrganizations))
	return cmd
}
