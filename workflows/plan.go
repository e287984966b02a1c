package workflows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trailgate/trailgate/activities"
)

// Plan step kinds.
const (
	StepEnableTrustedAccess  = "enable-trusted-access"
	StepDisableTrustedAccess = "disable-trusted-access"
	StepCreateRole           = "create-service-linked-role"
	StepBucketPolicy         = "ensure-bucket-policy"
	StepCreateTrail          = "create-trail"
	StepConvertTrail         = "convert-trail"
	StepStartLogging         = "start-logging"
	StepRegisterAdmins       = "register-delegated-administrators"
)

// PlanEnable is what enabling would change, given the current state and the
// managed trail (managed when trail.Name is set).
func PlanEnable(cur State, trailName, bucket string) Plan {
	p := Plan{Steps: []PlanStep{}, Current: cur}
	if !cur.TrustedAccess {
		p.Steps = append(p.Steps, PlanStep{StepEnableTrustedAccess, "enable trusted access for cloudtrail.amazonaws.com"})
	}
	if !cur.ServiceLinkedRole {
		p.Steps = append(p.Steps, PlanStep{StepCreateRole, "create the service-linked role AWSServiceRoleForCloudTrail"})
	}
	if trailName == "" {
		return p
	}
	if !cur.BucketPolicyReady {
		p.Steps = append(p.Steps, PlanStep{StepBucketPolicy, fmt.Sprintf("give bucket %s the organization-trail policy (creating the bucket if missing)", bucket)})
	}
	switch {
	case cur.Trail == nil:
		p.Steps = append(p.Steps,
			PlanStep{StepCreateTrail, fmt.Sprintf("create organization trail %s logging to %s", trailName, bucket)},
			PlanStep{StepStartLogging, fmt.Sprintf("start logging on trail %s", trailName)})
	case !cur.Trail.IsOrganizationTrail:
		p.Steps = append(p.Steps, PlanStep{StepConvertTrail, fmt.Sprintf("convert trail %s to an organization trail", cur.Trail.ARN)})
		if !cur.Trail.IsLogging {
			p.Steps = append(p.Steps, PlanStep{StepStartLogging, fmt.Sprintf("start logging on trail %s", cur.Trail.ARN)})
		}
	case !cur.Trail.IsLogging:
		p.Steps = append(p.Steps, PlanStep{StepStartLogging, fmt.Sprintf("start logging on trail %s", cur.Trail.ARN)})
	}
	return p
}

// PlanEnableIn is PlanEnable that also registers the organization's
// CloudTrail delegated administrators, and refuses to move a trail's logs:
// blocked says why the plan cannot go ahead, or is empty.
func PlanEnableIn(cur State, trail activities.TrailSettings) (p Plan, blocked string) {
	p = PlanEnable(cur, trail.Name, trail.Bucket)
	if t := cur.Trail; t != nil && trail.Name != "" && t.Bucket != "" && t.Bucket != trail.Bucket {
		blocked = fmt.Sprintf("trail %s logs to bucket %s, but trail.bucket names %s; trailgate never moves a trail's logs: set trail.bucket to %s in the worker's configuration, or move the trail yourself",
			t.ARN, t.Bucket, trail.Bucket, t.Bucket)
	}
	if missing := unregistered(cur, trail.DelegatedAdministrators); len(missing) > 0 {
		p.Steps = append(p.Steps, PlanStep{StepRegisterAdmins, fmt.Sprintf("register %s as CloudTrail delegated administrator(s)", strings.Join(missing, ", "))})
	}
	return p, blocked
}

// unregistered are the accounts of want that AWS does not list as
// CloudTrail's delegated administrators.
func unregistered(cur State, want []string) []string {
	var missing []string
	for _, id := range want {
		if !slices.Contains(cur.DelegatedAdministrators, id) {
			missing = append(missing, id)
		}
	}
	return missing
}

// PlanDisable is what disabling would change: only trusted access, and only
// when it is on.
func PlanDisable(cur State) Plan {
	p := Plan{Steps: []PlanStep{}, Current: cur}
	if cur.TrustedAccess {
		p.Steps = append(p.Steps, PlanStep{StepDisableTrustedAccess, "disable trusted access for cloudtrail.amazonaws.com (organization trails stop logging for member accounts)"})
	}
	return p
}

// PlanRollback is what a rollback would change: re-enable trusted access, so
// that the organization trails that remain log again for member accounts.
func PlanRollback(cur State, inv Inventory) Plan {
	p := Plan{Steps: []PlanStep{}, Current: cur}
	if !cur.TrustedAccess {
		p.Steps = append(p.Steps, PlanStep{StepEnableTrustedAccess, fmt.Sprintf("re-enable trusted access for cloudtrail.amazonaws.com, restoring %d organization trail(s) without reconfiguration", len(inv.OrganizationTrails))})
	}
	return p
}

// PlanRollbackIn is PlanRollback that also recreates the service-linked
// role, which may have been deleted while trusted access was off.
func PlanRollbackIn(cur State, inv Inventory) Plan {
	p := PlanRollback(cur, inv)
	if !cur.ServiceLinkedRole {
		p.Steps = append(p.Steps, PlanStep{StepCreateRole, "recreate the service-linked role AWSServiceRoleForCloudTrail, deleted while trusted access was off"})
	}
	return p
}

// newSteps are the kinds of steps of now that were not in the plan
// approved.
func newSteps(approved, now Plan) []PlanStep {
	var added []PlanStep
	for _, s := range now.Steps {
		if !approved.Has(s.Kind) {
			added = append(added, s)
		}
	}
	return added
}

// goneSteps are the steps of the plan approved that AWS no longer needs:
// someone did them by hand.
func goneSteps(approved, now Plan) []PlanStep {
	return newSteps(now, approved)
}

// Has reports whether the plan has a step of the kind.
func (p Plan) Has(kind string) bool {
	for _, s := range p.Steps {
		if s.Kind == kind {
			return true
		}
	}
	return false
}
