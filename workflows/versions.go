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
)
