package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// IdentifyInput asks who a proof proves (trailgate whoami).
type IdentifyInput struct {
	Who Who `json:"who"`
}

// Identity is who a proof proves under the worker's policy, and what that
// person may do at a change's gates.
type Identity struct {
	Who Who `json:"who"`
	// Roles are what the person may do: approver, cloudtrail-admin,
	// requester.
	Roles []string `json:"roles"`
	// Policy is the worker's gate policy it was judged by.
	Policy GatePolicy `json:"policy"`
}

// Roles of a person under a gate policy.
const (
	RoleRequester       = "requester"
	RoleApprover        = "approver"
	RoleCloudTrailAdmin = "cloudtrail-admin"
)

// IdentifyWorkflow verifies a proof bound to IdentifyBinding the way every
// decision's proof is verified, and says who it proves and what they may
// do. It changes nothing.
func IdentifyWorkflow(ctx workflow.Context, in IdentifyInput) (Identity, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var id Identity
	if err := workflow.ExecuteActivity(actx, a.ResolvePolicy).Get(ctx, &id.Policy); err != nil {
		return id, err
	}
	who, err := prove(ctx, id.Policy, newNonces(nil), in.Who, IdentifyBinding(in.Who.Nonce))
	if err != nil {
		return id, err
	}
	id.Who = who.recorded()
	id.Roles = rolesOf(id.Policy, who.By)
	return id, nil
}

// rolesOf lists what a person may do under a policy.
func rolesOf(p activities.Policy, name string) []string {
	roles := []string{RoleRequester}
	if may(p.Approvers, name) {
		roles = append(roles, RoleApprover)
	}
	if slices.Contains(p.CloudTrailAdmins, name) {
		roles = append(roles, RoleCloudTrailAdmin)
	}
	return roles
}
