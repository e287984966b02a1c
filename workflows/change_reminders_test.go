package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

// A worker configured without reminders (reminder_every 0) lets a gate
// wait to its deadline in silence.
func TestGateWithoutRemindersWaitsInSilence(t *testing.T) {
	h := newChangeHarness(t)
	h.policy.ReminderEvery, h.policy.Timeout = 0, 48*time.Hour
	p := h.runTo(one(workflows.ActionEnable), workflows.PhaseExpired)
	if len(h.reminders) != 0 || recordOf(p, "reminder") != "" {
		t.Errorf("%d reminder(s) sent with reminders off; record: %s", len(h.reminders), recordOf(p, "reminder"))
	}
}

// A webhook that fails is tried again, backing off from five seconds rather
// than hammering it; a reminder it never takes is recorded as not
// delivered, and the change goes on.
func TestUndeliveredReminderIsRetriedGentlyAndRecorded(t *testing.T) {
	h := newChangeHarness(t)
	var attempts []time.Time
	h.webhook = func(activities.Reminder) error {
		attempts = append(attempts, h.env.Now())
		return errors.New("send reminder to https://hooks.example/trailgate: the webhook answered 502 Bad Gateway")
	}
	h.approveAt(30*time.Hour, "alice", "bob")
	p := h.runTo(one(workflows.ActionEnable), workflows.PhaseSucceeded)
	if len(attempts) != 5 {
		t.Fatalf("%d attempt(s) to deliver the one reminder of the first day; want 5", len(attempts))
	}
	if gap := attempts[1].Sub(attempts[0]); gap < 5*time.Second {
		t.Errorf("the webhook was tried again %s after it failed; want at least 5s", gap)
	}
	if got := recordOf(p, "reminder"); !strings.HasPrefix(got, "reminder not delivered: ") || !strings.Contains(got, "502 Bad Gateway") {
		t.Errorf("the record says of the reminder %q; want it not delivered, with the webhook's answer", got)
	}
}
