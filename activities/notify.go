package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Notify sends a reminder to the worker's configured webhook as a JSON POST, or logs
// it when no webhook is configured. A refusal (4xx other than 429) fails
// without retry; anything else is retried by the activity's retry policy.
func (a *Activities) Notify(ctx context.Context, r Reminder) error {
	webhook := a.authority.Approvals.WebhookURL
	activity.GetLogger(ctx).Info("reminder", "change", r.ChangeID, "organization", r.Organization,
		"awaiting", r.Awaiting, "who", r.Who, "message", r.Message)
	if webhook == "" {
		return nil
	}
	body, err := json.Marshal(r)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("encode reminder: "+err.Error(), ErrWebhookRefused, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("send reminder to %s: %v; fix approvals.webhook_url", webhook, err), ErrWebhookRefused, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("send reminder to %s: %w", webhook, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("send reminder to %s: the webhook refused it with %s", webhook, resp.Status), ErrWebhookRefused, nil)
	default:
		return fmt.Errorf("send reminder to %s: the webhook answered %s", webhook, resp.Status)
	}
}
