package activities_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
)

func notify(t *testing.T, status int) (activities.Reminder, error) {
	t.Helper()
	var got activities.Reminder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	auth := activities.Authority{Approvals: config.Approvals{WebhookURL: srv.URL}}
	env.RegisterActivity(activities.NewWithFactory(&awsclient.Factory{}, auth, activities.Polling{}))
	_, err := env.ExecuteActivity((&activities.Activities{}).Notify, activities.Reminder{ChangeID: "chg-1", Organization: "acme-prod", Awaiting: "2 approval(s)",
		Who: []string{"alice", "bob"}, Since: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), Message: "change chg-1 awaits"})
	return got, err
}

func TestReminderIsPostedAsJSON(t *testing.T) {
	got, err := notify(t, http.StatusNoContent)
	if err != nil {
		t.Fatal(err)
	}
	if got.ChangeID != "chg-1" || got.Organization != "acme-prod" || len(got.Who) != 2 || got.Awaiting != "2 approval(s)" {
		t.Errorf("webhook received %+v", got)
	}
}

func TestWebhookRefusalIsNotRetriedButServerErrorsAre(t *testing.T) {
	_, err := notify(t, http.StatusForbidden)
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Errorf("a 403 from the webhook: %v, want a non-retryable error", err)
	}
	_, err = notify(t, http.StatusBadGateway)
	if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		t.Errorf("a 502 from the webhook: %v, want a retryable error", err)
	}
}
