package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/schedule"
	"github.com/trailgate/trailgate/workflows"
)

// webhook is a notifications endpoint that keeps every drift notice it
// receives.
type webhook struct {
	mu      sync.Mutex
	notices []activities.DriftNotice
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var n activities.DriftNotice
	if json.Unmarshal(body, &n) == nil && n.Kind == "drift" {
		h.mu.Lock()
		h.notices = append(h.notices, n)
		h.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// about lists the notices' findings of a kind in an organization, as
// appeared and as resolved.
func (h *webhook) about(org string, kind activities.FindingKind) (appeared, resolved int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	match := func(f activities.Finding) bool { return f.Organization == org && f.Kind == kind }
	for _, n := range h.notices {
		if slices.ContainsFunc(n.Appeared, match) {
			appeared++
		}
		if slices.ContainsFunc(n.Resolved, match) {
			resolved++
		}
	}
	return appeared, resolved
}

func (w *world) audit(code int, args ...string) auditJSON {
	w.t.Helper()
	r := w.run(append([]string{"audit", "--json"}, args...)...)
	w.expect(r, code)
	var out auditJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		w.t.Fatalf("audit --json printed %q: %v", r.stdout, err)
	}
	return out
}

// scheduledAudit waits for the schedule's first audit and returns its
// report.
func (w *world) scheduledAudit(ctx context.Context) workflows.AuditReport {
	w.t.Helper()
	h := w.env.Client.ScheduleClient().GetHandle(ctx, workflows.AuditScheduleID)
	for {
		d, err := h.Describe(ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		if a := d.Info.RecentActions; len(a) > 0 && a[0].StartWorkflowResult != nil {
			var r workflows.AuditReport
			if err := w.env.Client.GetWorkflow(ctx, a[0].StartWorkflowResult.WorkflowID, a[0].StartWorkflowResult.FirstExecutionRunID).Get(ctx, &r); err != nil {
				w.t.Fatal(err)
			}
			return r
		}
		select {
		case <-ctx.Done():
			w.t.Fatal("the schedule started no audit")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func hasFinding(r workflows.AuditReport, org string, kind activities.FindingKind) bool {
	return slices.ContainsFunc(r.Findings, func(f workflows.Finding) bool { return f.Organization == org && f.Kind == kind })
}

// Trusted access turned off by hand, behind trailgate's back, is found by
// the audit, announced once across audits (scheduled ones included) and
// once when resolved; --remediate opens an ordinary change that restores
// it after approval.
func TestDriftMadeByHandIsFoundAnnouncedOnceAndRemediated(t *testing.T) {
	w := startWorld(t)
	hook := &webhook{}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	w.env.StopWorker()
	w.env.Config.Notifications.WebhookURL = srv.URL
	w.env.StartWorker(activities.Polling{})

	// Nothing verified yet: nothing is held to a state.
	if r := w.audit(0).AuditReport; r.Drift || r.Organizations[0].Desired != workflows.DesiredUnmanaged {
		t.Fatalf("before any change: %+v", r)
	}

	w.expect(w.run("enable", "--org", "acme-prod", "--change-id", "enable-audit", "--profile", "dave"), 0)
	// Approvals wait for the gate, as a person would: enable returns once
	// the request is verified, while the change still plans.
	w.expect(w.run("status", "enable-audit", "--watch", "--until-gate"), 0)
	w.expect(w.run("approve", "enable-audit", "--profile", "alice"), 0)
	w.expect(w.run("approve", "enable-audit", "--profile", "bob", "--wait"), 0)
	r := w.audit(0).AuditReport
	if r.Organizations[0].Organization != "acme-prod" || r.Organizations[0].Desired != workflows.DesiredEnabled || hasFinding(r, "acme-prod", activities.FindingTrustedAccess) {
		t.Fatalf("after a verified enable: %+v", r)
	}
	// What matches its desired state is reported without its details,
	// which keeps the report within Temporal's payload limit.
	if o := r.Organizations[0]; len(o.Findings) == 0 && (o.Current != nil || o.Inventory != nil) {
		t.Errorf("acme-prod matches its desired state, yet the report carries its live state and inventory: %+v", o)
	}

	w.setTrustedAccess("acme-prod", false)
	r = w.audit(ExitDrift).AuditReport
	if !r.Drift || !hasFinding(r, "acme-prod", activities.FindingTrustedAccess) {
		t.Fatalf("drift made by hand was not found: %+v", r.Findings)
	}
	if o := r.Organizations[0]; o.Current == nil || o.Inventory == nil {
		t.Errorf("acme-prod drifted, yet the report leaves out its live state or inventory: %+v", o)
	}
	w.audit(ExitDrift)
	if appeared, _ := hook.about("acme-prod", activities.FindingTrustedAccess); appeared != 1 {
		t.Fatalf("the drift was announced %d times over two audits, want once: %+v", appeared, hook.notices)
	}

	// The worker's schedule exists and runs the same audit.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := schedule.EnsureAudit(ctx, w.env.Client, w.env.Config.Temporal.TaskQueue, time.Hour); err != nil {
		t.Fatal(err)
	}
	w.expect(w.run("audit", "schedule"), 0, workflows.AuditScheduleID, "active", "every 1h0m0s", "overlaps skip")
	if err := w.env.Client.ScheduleClient().GetHandle(ctx, workflows.AuditScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	scheduled := w.scheduledAudit(ctx)
	if !scheduled.Drift || scheduled.Trigger != workflows.AuditBySchedule || !hasFinding(scheduled, "acme-prod", activities.FindingTrustedAccess) {
		t.Fatalf("scheduled audit: %+v", scheduled)
	}
	if appeared, _ := hook.about("acme-prod", activities.FindingTrustedAccess); appeared != 1 {
		t.Fatalf("the scheduled audit announced the drift again: %+v", hook.notices)
	}
	// Visibility indexes a closed run's search attributes shortly after it
	// closes: the list is read until it shows the three audits.
	var listed *workflowservice.ListWorkflowExecutionsResponse
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		listed, err = w.env.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowType = '" + workflows.AuditWorkflowName + "' AND " + workflows.DriftKey.GetName() + " = '" + workflows.DriftYes + "'"})
		if (err == nil && len(listed.Executions) >= 3) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(listed.Executions) < 3 {
		t.Fatalf("audits listed with drift: %v, %v", listed, err)
	}
	w.expect(w.run("audit", "pause"), 2, "--reason")
	w.expect(w.run("audit", "pause", "--reason", "INC-42"), 0, "paused", "INC-42")
	w.expect(w.run("audit", "resume", "--reason", "INC-42 over"), 0, "active")

	started := w.audit(ExitDrift, "--remediate", "--profile", "dave").Remediation
	if len(started) != 1 || started[0].Action != workflows.ActionEnable || started[0].Requester != "dave" {
		t.Fatalf("--remediate started %+v, want one enable requested by dave", started)
	}
	id := started[0].ChangeID
	if on := w.readAWS()["acme-prod"]; len(on.TrustedAccess) != 0 {
		t.Fatalf("remediation acted before approval: %+v", on)
	}
	// The remediation is approved once it stands at its gate, as people
	// are told to.
	w.expect(w.run("status", id, "--watch", "--until-gate"), 0)
	w.expect(w.run("approve", id, "--profile", "alice"), 0)
	w.expect(w.run("approve", id, "--profile", "bob", "--wait"), 0)
	if r = w.audit(0).AuditReport; hasFinding(r, "acme-prod", activities.FindingTrustedAccess) {
		t.Fatalf("after remediation: %+v", r.Findings)
	}
	if appeared, resolved := hook.about("acme-prod", activities.FindingTrustedAccess); appeared != 1 || resolved != 1 {
		t.Fatalf("announced %d times, resolved %d times; want once each: %+v", appeared, resolved, hook.notices)
	}
}
