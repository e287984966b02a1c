package workflows

// Change IDs for workflow.GetVersion. Every change to what a running
// workflow does is guarded by one, and the histories recorded before it
// (testdata/histories) must still replay.
//
// The histories recorded before the worker became the only authority were
// retired with the guards that reconciled them, for the reasons below. The
// histories in testdata were recorded since, and replay.
const (
	// versionVerifiedSignals: a target acts on a decision signalled to it
	// only once its change's told query shows the change sent it, and a
	// change takes where a target stands from the target's progress query,
	// not from the report signalled to it. Signals carry no proof of their
	// sender, and target workflow IDs are predictable: before, anyone who
	// reached Temporal could release an organization with no approval, or
	// show approvers a plan of their own.
	versionVerifiedSignals = "verified-signals"

	// versionAWSDepth: a target reads AWS again right before its first
	// mutation and returns to the gate that must see what changed; it
	// plans delegated administrators and, for a rollback, the
	// service-linked role; it refuses to move a converted trail's logs; a
	// cleanup confirmation must acknowledge every kind of impact present;
	// mutations record their AWS request IDs and CloudTrail events, and
	// an enable or rollback probes a member account. A change takes its
	// targets back to a gate after their release (change.regate).
	versionAWSDepth = "aws-depth"

	// versionAskByActivity: a change and its targets read each other's
	// queries through an activity, not a local activity, so that neither
	// holds its workflow task open while the other's query waits for it.
	versionAskByActivity = "ask-by-activity"

	// versionBatched: a change asks every target whose report has come
	// where it stands in a few activities at once, not one activity each
	// in turn, and sends its decisions to a wave's targets without waiting
	// for each signal before the next. At a thousand organizations, one by
	// one kept the change busy for minutes at each gate.
	versionBatched = "batched"

	// versionVouched: a change's decisions carry the worker's word for
	// them, made with its proof key, and a target checks the word itself
	// instead of asking the change whether it sent the decision. A
	// thousand organizations released at once asked the change a thousand
	// questions, which Temporal answers one at a time.
	versionVouched = "vouched"

	// versionAuditChunks: an audit reads its organizations auditChunk at a
	// time, one activity a chunk that also asks what trailgate last
	// verified, and holds them to their desired state in the workflow. An
	// activity for each organization, and one more for what was verified,
	// took an audit past Temporal's 51,200 history events beyond about
	// 8,500 organizations.
	versionAuditChunks = "audit-chunks"

	// versionWaveBound: a change holds each wave to MaxWaveOrganizations
	// organizations, and resolves each wave's organizations in the
	// worker's configuration when the wave starts, not all of them when
	// the change starts (which still checks that it knows them all). The organizations of a
	// change of 10,000 took 3.3 MB, past Temporal's 2 MB payload limit, in
	// the answer that resolved them and again in the input that continued
	// the change as new; and at the 8 events and 15 KB of history an
	// organization of a wave takes, one wave of them would pass Temporal's
	// limits of 51,200 events and 50 MB.
	versionWaveBound = "wave-bound"

	// versionReask: a change asks again, after a pause, a target that
	// could not be asked where it stands, instead of dropping its report.
	// At 2,000 organizations a busy Temporal timed some of those queries
	// out, and the change waited for organizations that already stood at
	// their gate. The version is asked only when a target could not be
	// asked, so a history without such a failure holds no marker for it.
	versionReask = "reask"

	// versionFewerCalls: an enable makes its AWS calls in three
	// activities where it made eleven: its preflight and first read in one
	// (SurveyOrganization); the read right before acting and the plan's
	// mutations in one (ApplyMutations, which makes nothing when AWS no
	// longer shows what the plan was made from, and leaves the recheck to
	// decide); and verification, the member-account probe and the
	// CloudTrail lookup in one (ConfirmChange). A rollback makes its
	// mutations in one activity too. An organization's workflow no longer
	// sets a memo at every phase (nothing read it), nor the search
	// attributes its change set when it started it. Each activity is some
	// four writes to Temporal's store: at a thousand organizations these
	// were most of a change's time. A target of this version asks for it
	// first and for none before it (verified-signals, aws-depth,
	// vouched), which it implies: each GetVersion records a marker and
	// indexes the workflow again. (Histories recorded while it still asked
	// for them, *-before-implied-versions.json, replay too: the SDK skips
	// version markers no code asks for.)
	versionFewerCalls = "fewer-calls"
)

//
// Retired histories, and why:
//
//   - target-enable.json and target-disable.json: a target that held its
//     own gates, started alone. No user path starts a target alone any more
//     (a change owns every gate, and its targets take its word by signal),
//     and such a target trusted names typed into Temporal as approvals.
//   - change-enable*.json and change-enable-child*.json, with the guards
//     change-wave-reminders, target-quiet-release-gate,
//     target-release-held-by-change and change-wave-expiry: their inputs
//     carried the requester's own approval policy and organizations' roles,
//     and their gates took any name as a person. Replaying them would keep
//     honouring exactly what the worker's authority and proofs of identity
//     exist to refuse. Upgrading: let changes started before this version
//     end, or cancel them (trailgate list shows them), before deploying it;
//     a change still running then stops with a nondeterminism error in its
//     workflow task, visible in the Temporal UI, and changes nothing more.
//
//   - the change histories recorded while versionVouched had the worker
//     vouch for each decision in a local activity of its own: that form
//     was never released (it was replaced, within one stop of main, by one
//     local activity for every decision sent at once, after a thousand of
//     them in one workflow task timed the task out). The histories of
//     versionVouched in testdata are of the released form.
//
// Refusals added without a guard, because no history a change or its
// targets recorded issues other commands under them (the recorded
// histories still replay), while a guard would keep honouring, on replay,
// the inputs they exist to refuse:
//
//   - a change whose input carries progress while its run was not continued
//     as new by the change itself (continuedByItself): it would skip the
//     requester's proof and the worker's resolution;
//   - a target that is not the child of the change its input names: it
//     would take its organization, trail and release from whoever started
//     it;
//   - a target report of a phase no target reports: it would end a target
//     in the change's record with nothing done.
