package workflows

// Change IDs for workflow.GetVersion. Every change to what a running
// workflow does is guarded by one, and the histories recorded before it
// (testdata/histories) must still replay.
//
// None is in force today: the histories recorded before the worker became
// the only authority were retired with the guards that reconciled them, for
// the reasons below. The histories in testdata were recorded since, and
// replay.
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
