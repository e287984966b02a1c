package workflows

// Change IDs for workflow.GetVersion. Every change to what a running
// workflow does is guarded by one, and the histories recorded before it
// (testdata/histories) must still replay.
const (
	// versionWaveReminders: a change reminds approvers while a wave awaits
	// approval (before: only its targets reminded, each on its own).
	versionWaveReminders = "change-wave-reminders"
	// versionQuietReleaseGate: a target of a change does not remind anyone
	// while it waits for the change's release; the change reminds its
	// approvers once for the whole wave.
	versionQuietReleaseGate = "target-quiet-release-gate"
	// versionReleaseHeldByChange: a target of a change waits for the
	// change's release without an expiry of its own; the change expires a
	// wave nobody approved and tells its targets. Before, each target's
	// release gate expired on its own, even when its wave was approved and
	// waited for a maintenance window or a concurrency slot.
	versionReleaseHeldByChange = "target-release-held-by-change"
	// versionWaveExpiry: the change expires a wave whose approval gate
	// outlives approvals.timeout (see versionReleaseHeldByChange).
	versionWaveExpiry = "change-wave-expiry"
)
