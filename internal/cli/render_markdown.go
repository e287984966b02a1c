package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/trailgate/trailgate/workflows"
)

// Markdown: the change record to attach to a change ticket.

// writeMarkdown renders a change record for a change ticket: summary, waves,
// each organization's plan, inventory and evidence, and every record entry
// with its time and people.
func writeMarkdown(w io.Writer, rec ChangeRecord) error {
	p := rec.Change
	var b strings.Builder
	fmt.Fprintf(&b, "# Change %s: %s\n\n", p.ChangeID, actionPhrase(p.Action))
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, cell(v))
		}
	}
	row("Change ID", "`"+p.ChangeID+"`")
	row("Action", string(p.Action)+" trusted access for `cloudtrail.amazonaws.com`")
	row("Requested by", requestedBy(p))
	if p.Policy != nil {
		row("Policy in force", policyText(*p.Policy))
	}
	row("Reason", p.Reason)
	row("Outcome", outcomeWord(p))
	row("Organizations", fmt.Sprintf("%d (%d done, %d failed; failure budget %d)", len(p.Targets), p.Done(), p.Failed, p.FailureBudget))
	row("Started", stamp(rec.Started))
	row("Ended", stamp(rec.Ended))
	if rec.TemporalURL != "" {
		row("Temporal", fmt.Sprintf("[%s](%s)", p.ChangeID, rec.TemporalURL))
	}
	if p.Paused != nil {
		row("Paused", fmt.Sprintf("by %s: %s", p.Paused.Who, p.Paused.Reason))
	}
	if p.Awaiting != nil && !p.Phase.Final() {
		row("Awaiting", fmt.Sprintf("%s%s since %s (expires %s)", p.Awaiting.What, whoSuffix(p.Awaiting.Who), stamp(p.Awaiting.Since), stamp(p.Awaiting.Expires)))
	}
	row("Exported", stamp(rec.ExportedAt))

	if len(p.Waves) > 0 {
		b.WriteString("\n## Waves\n\n| Wave | Organizations | Approval | Approved by | Phase |\n|---|---|---|---|---|\n")
		for _, wv := range p.Waves {
			need, by := "not needed", "-"
			if wv.NeedsApproval {
				need, by = "required", decisionsText(wv.Approvals)
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", wv.Number, cell(strings.Join(wv.Organizations, ", ")), need, cell(by), orDash(string(wv.Phase)))
		}
	}

	if len(p.Targets) > 0 {
		b.WriteString("\n## Organizations\n")
		for _, t := range p.Targets {
			writeTargetMarkdown(&b, withTarget(t, rec.Targets))
		}
	}

	b.WriteString("\n## Record\n\n")
	if len(rec.Entries) == 0 {
		b.WriteString("Nothing recorded yet.\n")
	} else {
		b.WriteString("| Time (UTC) | Organization | Event | People | Detail |\n|---|---|---|---|---|\n")
		for _, e := range rec.Entries {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", tableStamp(e.At), cell(orDash(e.Organization)), e.Kind, cell(orDash(strings.Join(entryPeople(e, workflows.Who.String), "; "))), cell(e.Detail))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// withTarget completes an organization's summary with what its own
// workflow knows: the change keeps plans and evidence of ended waves only
// until it continues as new.
func withTarget(t workflows.TargetSummary, targets []workflows.TargetProgress) workflows.TargetSummary {
	for _, tp := range targets {
		if tp.Organization != t.Organization {
			continue
		}
		if tp.Plan != nil {
			t.Plan = tp.Plan
		}
		if tp.Inventory != nil {
			t.Inventory = tp.Inventory
		}
		if tp.Evidence != nil {
			t.Evidence = tp.Evidence
		}
		if t.Error == "" && tp.LastError != "" {
			t.Error = tp.LastError
		}
	}
	return t
}

func writeTargetMarkdown(b *strings.Builder, t workflows.TargetSummary) {
	fmt.Fprintf(b, "\n### %s\n\n", t.Organization)
	fmt.Fprintf(b, "- Wave %d, workflow `%s`, phase **%s**\n", t.Wave, t.WorkflowID, t.Phase)
	if t.Message != "" && !t.Phase.Final() {
		fmt.Fprintf(b, "- %s\n", oneLine(t.Message))
	}
	if t.Error != "" {
		// The record below keeps the whole text.
		fmt.Fprintf(b, "- Error: %s\n", shortError(oneLine(t.Error)))
	}
	if t.Plan != nil {
		fmt.Fprintf(b, "- State before: %s\n", workflows.DescribeState(t.Plan.Current, code))
		if t.Plan.Empty() {
			b.WriteString("- Plan: nothing to do\n")
		} else {
			b.WriteString("- Plan:\n")
			for i, st := range t.Plan.Steps {
				fmt.Fprintf(b, "  %d. `%s`: %s\n", i+1, st.Kind, oneLine(st.Description))
			}
		}
	}
	if inv := t.Inventory; inv != nil {
		b.WriteString("- Impact inventory:\n")
		if inv.Empty() {
			fmt.Fprintf(b, "  - %s\n", workflows.NothingDepends)
		}
		for _, impact := range workflows.DescribeImpacts(*inv, code) {
			fmt.Fprintf(b, "  - %s\n", impact)
		}
	}
	if ev := t.Evidence; ev != nil {
		fmt.Fprintf(b, "- Evidence read back from AWS at %s after %d check(s): %s\n",
			stamp(ev.At), ev.Checks, workflows.DescribeAccess(ev.TrustedAccess, ev.ServiceLinkedRole))
		for _, tr := range ev.Trails {
			fmt.Fprintf(b, "  - trail `%s`: organization trail %s, logging %s\n", tr.ARN, workflows.YesNo(tr.IsOrganizationTrail), workflows.OnOff(tr.IsLogging))
		}
		for _, n := range ev.Notes {
			fmt.Fprintf(b, "  - %s\n", oneLine(n))
		}
	}
}

func outcomeWord(p workflows.ChangeProgress) string {
	switch {
	case p.Phase.Successful():
		return fmt.Sprintf("**%s**, verified", p.Phase)
	case p.Phase.Final():
		return fmt.Sprintf("**%s**", p.Phase)
	}
	return fmt.Sprintf("in progress (%s)", p.Phase)
}

func decisionsText(ds []workflows.Decision) string {
	if len(ds) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		s := d.Who.String()
		if d.Comment != "" {
			s += ": " + d.Comment
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

// code marks an identifier as code in Markdown.
func code(s string) string { return "`" + s + "`" }
