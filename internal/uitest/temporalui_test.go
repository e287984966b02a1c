package uitest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// What the Temporal UI of the dev default (ui-server v2, UI 2.55) renders,
// and where, as read in Chromium:
//
//   - The workflow list is /namespaces/<ns>/workflows?query=<visibility
//     query, URL-encoded>. Each workflow is a row
//     tr[data-testid="workflows-summary-configurable-table-row"]; columns
//     are named by th[data-testid="workflows-summary-table-header-cell-<name>"]
//     ("Status", "Workflow ID", "Type", ...). The ID links to the
//     workflow's page, /workflows/<ID, path-escaped>/<run ID>/timeline;
//     /workflows/<ID, path-escaped> (the link the CLI prints) opens the
//     latest run's.
//   - A workflow's page has tabs; "User Metadata"
//     ([data-testid="user-metadata-tab"], route .../user-metadata) holds
//     "Summary" (the StaticSummary set when the workflow started),
//     "Details" (StaticDetails, which trailgate leaves empty: "No details
//     available") and "Current Details" (workflow.SetCurrentDetails, which
//     the UI asks the workflow for when the page loads; "Press R for
//     freshness").
//   - Summary and current details are Markdown rendered into same-origin
//     iframes, #user-metadata-summary and #user-metadata-current-details:
//     the page's own text does not hold them, each iframe's document does.
//   - Input and Result are editors that render only their visible lines:
//     what a workflow did is better read in its current details.

// workflowRow is one workflow as the list shows it.
type workflowRow struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Type   string `json:"type"`
}

// readWorkflowRows reads the list's rows, by column name, as JSON.
const readWorkflowRows = `(() => {
	const heads = Array.from(document.querySelectorAll('thead th'));
	const col = name => heads.findIndex(h => h.dataset.testid === 'workflows-summary-table-header-cell-' + name);
	const [id, status, type] = [col('Workflow ID'), col('Status'), col('Type')];
	if (id < 0) return '[]';
	const text = (cells, i) => i >= 0 && cells[i] ? cells[i].innerText.trim() : '';
	return JSON.stringify(Array.from(document.querySelectorAll('tr[data-testid="workflows-summary-configurable-table-row"]')).map(r => {
		const cells = r.querySelectorAll('td');
		return {id: text(cells, id), status: text(cells, status), type: text(cells, type)};
	}));
})()`

// listWorkflows opens the workflow list filtered by a visibility query and
// waits until it shows each of want; it returns every row shown.
func (b *browser) listWorkflows(t testing.TB, ui, query string, want ...string) []workflowRow {
	t.Helper()
	b.open(t, ui+"/workflows?query="+url.QueryEscape(query))
	var rows []workflowRow
	b.waitFor(t, "the workflows of "+query, readWorkflowRows, func(v string) string {
		rows = nil
		if err := json.Unmarshal([]byte(v), &rows); err != nil {
			return "rows as JSON: " + err.Error()
		}
		var missing []string
		for _, id := range want {
			if !slices.ContainsFunc(rows, func(r workflowRow) bool { return r.ID == id }) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return "workflow(s) " + strings.Join(missing, ", ")
		}
		return ""
	})
	t.Logf("the list of %s: %+v; screenshot at %s", query, rows, b.screenshot(t, "list "+query))
	return rows
}

// iframeText reads the text of a same-origin iframe's document.
func iframeText(id string) string {
	return fmt.Sprintf(`(() => {
	const f = document.getElementById(%q);
	return f && f.contentDocument && f.contentDocument.body ? f.contentDocument.body.innerText : '';
})()`, id)
}

// userMetadata is what a workflow's User Metadata tab shows.
type userMetadata struct {
	Summary, CurrentDetails string
}

// openUserMetadata opens a workflow's page, then its User Metadata tab, and
// waits until its summary and current details show each of theirs.
func (b *browser) openUserMetadata(t testing.TB, id, page string, summary, details []string) userMetadata {
	t.Helper()
	b.open(t, page)
	b.click(t, "the User Metadata tab of "+id, `[data-testid="user-metadata-tab"]`)
	var m userMetadata
	m.Summary = lines(b.waitFor(t, "the summary of "+id, iframeText("user-metadata-summary"), contains(summary...)))
	m.CurrentDetails = lines(b.waitFor(t, "the current details of "+id, iframeText("user-metadata-current-details"), contains(details...)))
	t.Logf("%s: summary %q, current details %q; screenshot at %s", id, m.Summary, m.CurrentDetails, b.screenshot(t, id+" user metadata"))
	return m
}

// lines is text without its blank lines.
func lines(text string) string {
	var ls []string
	for l := range strings.Lines(text) {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return strings.Join(ls, "\n")
}
