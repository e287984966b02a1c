package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers every trailgate workflow with a worker, under the names
// of api.go.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(TargetWorkflow, workflow.RegisterOptions{Name: TargetWorkflowName})
	r.RegisterWorkflowWithOptions(ChangeWorkflow, workflow.RegisterOptions{Name: ChangeWorkflowName})
	r.RegisterWorkflowWithOptions(PlanWorkflow, workflow.RegisterOptions{Name: PlanWorkflowName})
	r.RegisterWorkflowWithOptions(IdentifyWorkflow, workflow.RegisterOptions{Name: IdentifyWorkflowName})
	r.RegisterWorkflowWithOptions(AuditWorkflow, workflow.RegisterOptions{Name: AuditWorkflowName})
}
