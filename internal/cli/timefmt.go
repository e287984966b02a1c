package cli

import "time"

// The time layouts trailgate shows people and compares, every one in UTC.
const (
	// layoutStamp is a moment in text and in the Markdown record.
	layoutStamp = "2006-01-02 15:04:05 UTC"
	// layoutTableStamp is a moment in the Markdown record's table, whose
	// header says UTC.
	layoutTableStamp = "2006-01-02 15:04:05"
	// layoutMinute is when a gate expires or a maintenance window opens.
	layoutMinute = "2006-01-02 15:04 UTC"
	// layoutClock is the time of day of a line while following a change.
	layoutClock = "15:04:05"
	// layoutChangeID is the time in a generated change ID.
	layoutChangeID = "20060102-150405"
)

// stamp is a moment for people, or "" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layoutStamp)
}

// tableStamp is a moment in the Markdown record's table.
func tableStamp(t time.Time) string { return t.UTC().Format(layoutTableStamp) }

// minute is a moment to the minute: a gate's expiry, a window's opening.
func minute(t time.Time) string { return t.UTC().Format(layoutMinute) }

// clock is the time of day, for a line while following a change.
func clock(t time.Time) string { return t.UTC().Format(layoutClock) }

// instant is a moment as RFC 3339, for schedules and audit findings.
func instant(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// exact is a moment to the nanosecond, for telling record lines and gates
// apart; never shown.
func exact(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
