package activities

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
)

// Notify sends a gate's reminder to the worker's notifications webhook, or
// logs it when no webhook is configured.
func (a *Activities) Notify(ctx context.Context, r Reminder) error {
	activity.GetLogger(ctx).Info("reminder", "change", r.ChangeID, "organization", r.Organization,
		"awaiting", r.Awaiting, "who", r.Who, "message", r.Message)
	return a.announce(ctx, "reminder", r, r.text())
}

// text is the reminder as it reads in a chat channel.
func (r Reminder) text() string {
	s := fmt.Sprintf(":hourglass: Change *%s* awaits %s", r.ChangeID, r.Awaiting)
	if len(r.Who) > 0 {
		s += " from " + strings.Join(r.Who, ", ")
	}
	if r.Organization != "" {
		s += " (" + r.Organization + ")"
	}
	if r.Message != "" {
		s += "\n" + r.Message
	}
	return s
}
