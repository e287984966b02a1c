package workflows

import "fmt"

// Plan step kinds.
const (
	StepEnableTrustedAccess  = "enable-trusted-access"
	StepDisableTrustedAccess = "disable-trusted-access"
	StepCreateRole           = "create-service-linked-role"
	StepBucketPolicy         = "ensure-bucket-policy"
	StepCreateTrail          = "create-trail"
	StepConvertTrail         = "convert-trail"
	StepStartLogging         = "start-logging"
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

// Has reports whether the plan has a step of the kind.
func (p Plan) Has(kind string) bool {
	for _, s := range p.Steps {
		if s.Kind == kind {
			return true
		}
	}
	return false
}
