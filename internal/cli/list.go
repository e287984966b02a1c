package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/trailgate/trailgate/workflows"
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

// ChangeListing is one line of `trailgate list`, and its JSON shape.
type ChangeListing struct {
	ChangeID string    `json:"change_id"`
	Action   string    `json:"action"`
	Phase    string    `json:"phase"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
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
	changes, err := s.listChanges(ctx, limit)
	if err != nil {
		return err
	}
	if s.json {
		return writeJSON(s.stdout, changes)
	}
	if len(changes) == 0 {
		fmt.Fprintln(s.stdout, "No changes yet; start one with `trailgate enable` or `trailgate disable`.")
		return nil
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANGE\tACTION\tPHASE\tSTARTED")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ChangeID, orDash(c.Action), orDash(c.Phase), orDash(stamp(c.Started)))
	}
	return tw.Flush()
}

func (s *session) listChanges(ctx context.Context, limit int) ([]ChangeListing, error) {
	var (
		changes    []ChangeListing
		firstStart = map[string]time.Time{}
		token      []byte
	)
	for len(changes) < limit {
		resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         fmt.Sprintf("WorkflowType = '%s'", workflows.ChangeWorkflowName),
			NextPageToken: token,
			PageSize:      int32(min(limit, 1000)),
		})
		if err != nil {
			return nil, fmt.Errorf("list changes in namespace %s: %w", s.cfg.Temporal.Namespace, err)
		}
		for _, info := range resp.GetExecutions() {
			id := info.GetExecution().GetWorkflowId()
			started := info.GetStartTime().AsTime().UTC()
			if t, ok := firstStart[id]; !ok || started.Before(t) {
				firstStart[id] = started
			}
			// A change that continued as new appears once per run; its
			// latest run says where it stands.
			if info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				continue
			}
			fields := info.GetSearchAttributes().GetIndexedFields()
			c := ChangeListing{
				ChangeID: id,
				Action:   keyword(fields[workflows.ActionKey.GetName()]),
				Phase:    keyword(fields[workflows.PhaseKey.GetName()]),
				Status:   strings.ToLower(strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")),
			}
			if t := info.GetCloseTime(); t != nil {
				c.Ended = t.AsTime().UTC()
			}
			if info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_TERMINATED {
				c.Phase = string(workflows.PhaseTerminated)
			}
			changes = append(changes, c)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	for i := range changes {
		changes[i].Started = firstStart[changes[i].ChangeID]
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Started.After(changes[j].Started) })
	if len(changes) > limit {
		changes = changes[:limit]
	}
	if changes == nil {
		changes = []ChangeListing{}
	}
	return changes, nil
}

func newListCommand(open openSession) *cobra.Command {
	var in ListCommandInput
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List changes, newest first: change ID, action, phase, start time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd, open, func(ctx context.Context, s *session) error { return List(ctx, s, in) })
		},
	}
	cmd.Flags().IntVar(&in.Limit, "limit", 100, "list at most this many changes")
	return cmd
}
