package workflows

import "go.temporal.io/sdk/worker"

// Register registers every trailgate workflow with a worker.
func Register(r worker.WorkflowRegistry) {
}
