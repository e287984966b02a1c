package uitest

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/workflows"
)

// TestTemporalUIShowsAChangeAndWhatAwaitsPeople drives a change with the
// CLI as its people do, over the dev default's organizations in two waves,
// each approved: the first wave's organization ends enabled, the second
// wave waits at its approval gate. It then reads, in the Temporal UI, what
// a person sees: the change's workflows, the change's summary and where it
// stands, an organization's plan and evidence, and what waits for people.
func TestTemporalUIShowsAChangeAndWhatAwaitsPeople(t *testing.T) {
	chromium := findChromium(t)
	if testing.Short() {
		t.Skip("starts the dev default (Temporal with its UI, the AWS sandbox, a worker) and Chromium")
	}
	d := startDevDefault(t)
	b := startBrowser(t, chromium)
	cfg := d.env.Config
	orgs := d.organizations()
	if len(orgs) < 3 {
		t.Fatalf("the dev default has organizations %v, want 3", orgs)
	}
	done, waiting := orgs[0], orgs[1:]

	const id, reason = "enable-chg-42", "CHG-42: organization trail"
	requested := time.Now()
	enabled := d.trailgate("enable", "--all", "--waves", "1,rest", "--approve-every-wave", "--change-id", id, "--reason", reason, "--profile", devmode.DemoRequester)
	// The page a person opens from what the CLI printed.
	changePage := regexp.MustCompile(`http://\S+/workflows/` + regexp.QuoteMeta(id) + `\b`).FindString(enabled)
	if changePage == "" {
		t.Fatalf("trailgate enable printed no link to the change's page in the Temporal UI:\n%s", enabled)
	}
	d.trailgate("status", id, "--watch", "--until-gate")
	for _, approver := range cfg.Approvals.Approvers[:cfg.Approvals.Required-1] {
		d.trailgate("approve", id, "--profile", approver)
	}
	// The last approval releases wave 1; --wait follows the change to wave
	// 2's gate.
	d.trailgate("approve", id, "--profile", cfg.Approvals.Approvers[cfg.Approvals.Required-1], "--wait")

	ui := d.uiURL() + "/namespaces/" + url.PathEscape(cfg.Temporal.Namespace)
	target := func(org string) string { return id + "/" + org }
	page := func(id string) string { return ui + "/workflows/" + url.PathEscape(id) }

	t.Run("the change's workflows are listed by TrailgateChangeID", func(t *testing.T) {
		want := []string{id}
		for _, org := range orgs {
			want = append(want, target(org))
		}
		rows := b.listWorkflows(t, ui, workflows.ChangeIDKey.GetName()+`="`+id+`"`, want...)
		if len(rows) != len(want) {
			t.Errorf("the list shows %d workflows, want the change's %d: %+v", len(rows), len(want), rows)
		}
		expect := map[string][2]string{id: {workflows.ChangeWorkflowName, "running"}, target(done): {workflows.TargetWorkflowName, "completed"}}
		for _, org := range waiting {
			expect[target(org)] = [2]string{workflows.TargetWorkflowName, "running"}
		}
		for _, r := range rows {
			if w := expect[r.ID]; r.Type != w[0] || !strings.EqualFold(r.Status, w[1]) {
				t.Errorf("the list shows %s as %s %s, want %s %s", r.ID, r.Status, r.Type, w[1], w[0])
			}
		}
	})

	t.Run("the change's page shows its summary and where it stands", func(t *testing.T) {
		awaiting := "Awaiting " + itoa(cfg.Approvals.Required) + " approval(s) of wave 2 from " + strings.Join(cfg.Approvals.Approvers, ", ") + " until "
		m := b.openUserMetadata(t, id, changePage,
			[]string{"enable CloudTrail trusted access on " + itoa(len(orgs)) + " organization(s): " + reason},
			[]string{"enable of CloudTrail trusted access on " + itoa(len(orgs)) + " organization(s): awaiting-approval, wave 2 of 2, 1 done, 0 failed", awaiting})
		until := regexp.MustCompile(regexp.QuoteMeta(awaiting) + `(\S+), when the change expires`).FindStringSubmatch(m.CurrentDetails)
		if until == nil {
			t.Fatalf("the change's current details do not say until when it waits: %q", m.CurrentDetails)
		}
		expires, err := time.Parse(time.RFC3339, until[1])
		if err != nil {
			t.Fatalf("the change waits until %q, not a time: %v", until[1], err)
		}
		if earliest, latest := requested.Truncate(time.Second).Add(cfg.Approvals.Timeout), time.Now().Add(cfg.Approvals.Timeout); expires.Before(earliest) || expires.After(latest) {
			t.Errorf("the change waits until %s, want approvals.timeout (%s) after the gate opened: between %s and %s", expires, cfg.Approvals.Timeout, earliest, latest)
		}
	})

	t.Run("an enabled organization's page shows its plan and evidence", func(t *testing.T) {
		b.openUserMetadata(t, target(done), page(target(done)),
			[]string{"enable of CloudTrail trusted access in " + done},
			[]string{"enable of trusted access for CloudTrail in " + done + ": succeeded",
				"Plan: enable trusted access for cloudtrail.amazonaws.com", "create organization trail " + cfg.Trail.Name,
				"Evidence: after ", "trusted access on", "trail/" + cfg.Trail.Name + " logging true"})
	})

	t.Run("a waiting organization's page shows its plan and its gate", func(t *testing.T) {
		org := waiting[len(waiting)-1]
		m := b.openUserMetadata(t, target(org), page(target(org)),
			[]string{"enable of CloudTrail trusted access in " + org},
			[]string{"enable of trusted access for CloudTrail in " + org + ": awaiting-approval",
				"Awaiting release by change " + id, "Plan: enable trusted access for cloudtrail.amazonaws.com"})
		if strings.Contains(m.CurrentDetails, "Evidence:") {
			t.Errorf("%s has evidence before anything changed: %q", org, m.CurrentDetails)
		}
	})

	t.Run("what awaits people is listed by TrailgatePhase", func(t *testing.T) {
		want := []string{id}
		for _, org := range waiting {
			want = append(want, target(org))
		}
		listed := b.listWorkflows(t, ui, workflows.PhaseKey.GetName()+`="`+string(workflows.PhaseAwaitingApproval)+`"`, want...)
		for _, r := range listed {
			if r.ID == target(done) {
				t.Errorf("%s, which has ended, is listed as awaiting approval: %+v", r.ID, listed)
			}
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
