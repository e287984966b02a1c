package cli

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/workflows"
)

// Record formats.
const (
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// RecordCommandInput exports a change record: `trailgate record`.
type RecordCommandInput struct {
	ChangeID string
	// Format is json or markdown.
	Format string
	// Output is the file to write; empty or "-" writes to standard output.
	Output string
}

func (in RecordCommandInput) validate() error {
	problems := changeIDProblems(in.ChangeID)
	switch in.Format {
	case FormatJSON, FormatMarkdown, "md":
	default:
		problems = append(problems, fmt.Sprintf("--format %q: use json or markdown", in.Format))
	}
	return problemsError(problems)
}

// Record writes a change's record (the change, each organization's
// workflow, every entry by time): as JSON, a ChangeRecord; as Markdown, a
// document to attach to a change ticket.
func Record(ctx context.Context, s *session, in RecordCommandInput) (err error) {
	if err := in.validate(); err != nil {
		return err
	}
	rec, err := s.changeRecord(ctx, in.ChangeID)
	if err != nil {
		return err
	}
	w := s.out.stdout
	if in.Output != "" && in.Output != "-" {
		f, err := os.Create(in.Output)
		if err != nil {
			return usage(fmt.Errorf("write the record of change %s: %w", in.ChangeID, err))
		}
		defer func() {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("write the record of change %s to %s: %w", in.ChangeID, in.Output, cerr)
			}
		}()
		w = f
	}
	if in.Format == FormatJSON {
		return writeJSON(w, rec)
	}
	if err := writeMarkdown(w, rec); err != nil {
		return fmt.Errorf("write the record of change %s: %w", in.ChangeID, err)
	}
	return nil
}

// changeRecord gathers a change's record from the change and each of its
// organizations' workflows.
func (s *session) changeRecord(ctx context.Context, changeID string) (ChangeRecord, error) {
	p, e, err := s.changes.progress(ctx, changeID)
	if err != nil {
		return ChangeRecord{}, err
	}
	rec := ChangeRecord{
		Change: p, Targets: []workflows.TargetProgress{}, TemporalURL: s.out.changeURL(changeID),
		Started: e.Started, Ended: e.Closed, ExportedAt: s.now().UTC(),
	}
	for _, t := range p.Targets {
		if t.Phase == workflows.PhasePending && !p.Phase.Final() {
			continue
		}
		tp, ok, err := s.changes.targetProgress(ctx, t.WorkflowID)
		if err != nil {
			return rec, fmt.Errorf("record of change %s: %w", changeID, err)
		}
		if ok {
			rec.Targets = append(rec.Targets, tp)
		}
	}
	rec.Entries = mergeEntries(p.Record, rec.Targets)
	return rec, nil
}

func newRecordCommand(open openSession) *cobra.Command {
	var in RecordCommandInput
	cmd := &cobra.Command{
		Use:   "record <change-id>",
		Short: "Export a change record (every gate, decision, mutation and piece of evidence) as JSON or Markdown",
		Example: "  trailgate record enable-20260101-020000-ab12 --format markdown -o CHG-1234.md\n" +
			"  trailgate record enable-20260101-020000-ab12 --format json",
	}
	aboutChange(cmd, open, &in.ChangeID, func(ctx context.Context, s *session) error { return Record(ctx, s, in) })
	cmd.Flags().StringVar(&in.Format, "format", FormatMarkdown, "json or markdown")
	cmd.Flags().StringVarP(&in.Output, "output", "o", "", "write to this file (default standard output)")
	return cmd
}

// mergeEntries puts the change's and its organizations' entries in one
// timeline.
func mergeEntries(change []workflows.RecordEntry, targets []workflows.TargetProgress) []workflows.RecordEntry {
	entries := append([]workflows.RecordEntry{}, change...)
	// The change records each organization's outcome with its error; the
	// organization's own outcome entry would say it twice.
	outcome := map[string]bool{}
	for _, e := range change {
		if e.Kind == workflows.RecordOutcome && e.Organization != "" {
			outcome[e.Organization] = true
		}
	}
	for _, t := range targets {
		for _, e := range t.Record {
			if e.Kind == workflows.RecordOutcome && outcome[e.Organization] {
				continue
			}
			entries = append(entries, e)
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].At.Before(entries[j].At) })
	return entries
}
