package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/config"
)

// Every notification — a gate's reminder, drift found or resolved — leaves
// the worker here, to the one webhook of notifications.webhook_url, in the
// one format it asks for.

// webhook is where notifications go: notifications.webhook_url, else the
// deprecated approvals.webhook_url.
func (auth Authority) webhook() string {
	if auth.Notifications.WebhookURL != "" {
		return auth.Notifications.WebhookURL
	}
	return auth.Approvals.WebhookURL
}

// slackMessage is what a Slack-compatible incoming webhook accepts.
type slackMessage struct {
	Text string `json:"text"`
}

// announce posts a notification to the webhook: the payload as JSON, or,
// with notifications.format slack, text as {"text": ...}. Without a
// webhook it does nothing; the caller has logged it. A refusal (4xx other
// than 429) fails without retry; anything else is retried by the
// activity's retry policy.
func (a *Activities) announce(ctx context.Context, what string, payload any, text string) error {
	webhook := a.authority.webhook()
	if webhook == "" {
		return nil
	}
	var body []byte
	var err error
	if a.authority.Notifications.Format == config.NotificationsSlack {
		body, err = json.Marshal(slackMessage{Text: text})
	} else {
		body, err = json.Marshal(payload)
	}
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("encode %s: %v", what, err), ErrWebhookRefused, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("send %s to %s: %v; fix notifications.webhook_url", what, webhook, err), ErrWebhookRefused, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", what, webhook, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("send %s to %s: the webhook refused it with %s", what, webhook, resp.Status), ErrWebhookRefused, nil)
	default:
		return fmt.Errorf("send %s to %s: the webhook answered %s", what, webhook, resp.Status)
	}
}
