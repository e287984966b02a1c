package workflows

import (
	"fmt"
	"strings"
)

// The words trailgate describes AWS state with, written once: the
// workflows' record, the CLI's text and its Markdown record all use them.
// Where an identifier (an ARN, an account ID) appears, code marks it as the
// reader's format wants: as is for the record and text, as code in
// Markdown.

// OnOff says whether something (trusted access, logging) is on.
func OnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// Presence says whether something (the service-linked role) exists.
func Presence(b bool) string {
	if b {
		return "present"
	}
	return "absent"
}

// DescribeAccess says what AWS shows of CloudTrail's trusted access and its
// service-linked role: "trusted access on, service-linked role present".
func DescribeAccess(trustedAccess, serviceLinkedRole bool) string {
	return "trusted access " + OnOff(trustedAccess) + ", service-linked role " + Presence(serviceLinkedRole)
}

// DescribeState describes what AWS says of one organization: its IDs,
// trusted access, the service-linked role and, where there is one, the
// managed trail.
func DescribeState(s State, code func(string) string) string {
	d := fmt.Sprintf("organization %s, management account %s, %s",
		code(orDash(s.OrganizationID)), code(orDash(s.ManagementAccountID)), DescribeAccess(s.TrustedAccess, s.ServiceLinkedRole))
	if s.Trail != nil {
		d += fmt.Sprintf(", trail %s (organization trail %s, logging %s)", code(s.Trail.Name), YesNo(s.Trail.IsOrganizationTrail), OnOff(s.Trail.IsLogging))
	}
	return d
}

// DescribeSteps describes a plan's steps in one line, in order.
func DescribeSteps(steps []PlanStep) string {
	out := make([]string, 0, len(steps))
	for _, s := range steps {
		out = append(out, s.Description)
	}
	return strings.Join(out, "; ")
}

// NothingDepends is what an empty inventory says.
const NothingDepends = "nothing depends on trusted access: no organization trails, organization event data stores or delegated administrators"

// DescribeImpacts describes what an inventory holds, one phrase per thing
// (or per kind), in a fixed order: the organization trails and what
// disabling does to them, the organization event data stores, CloudTrail's
// delegated administrators. An empty inventory has none.
func DescribeImpacts(inv Inventory, code func(string) string) []string {
	var parts []string
	for _, tr := range inv.OrganizationTrails {
		s := fmt.Sprintf("organization trail %s (home %s, logging %t", code(tr.ARN), tr.HomeRegion, tr.IsLogging)
		if tr.OwnerHint != "" {
			s += ", looks owned by " + tr.OwnerHint
		}
		parts = append(parts, s+")")
	}
	if len(inv.OrganizationTrails) > 0 {
		parts = append(parts, "disabling stops these trails for member accounts")
	}
	for _, e := range inv.EventDataStores {
		parts = append(parts, "organization event data store "+code(e))
	}
	if len(inv.DelegatedAdministrators) > 0 {
		ids := make([]string, 0, len(inv.DelegatedAdministrators))
		for _, id := range inv.DelegatedAdministrators {
			ids = append(ids, code(id))
		}
		parts = append(parts, "CloudTrail delegated administrators "+strings.Join(ids, ", "))
	}
	return parts
}

// DescribeRegions says where an inventory read event data stores, and
// which regions it left out, as a parenthesis ("" when it read none).
func DescribeRegions(inv Inventory) string {
	if len(inv.Regions) == 0 {
		return ""
	}
	where := "(event data stores read in " + strings.Join(inv.Regions, ", ")
	if len(inv.SkippedRegions) > 0 {
		where += "; not enabled, so not read: " + strings.Join(inv.SkippedRegions, ", ")
	}
	return where + ")"
}

// DescribeInventory describes an inventory in one line, as the record
// keeps it.
func DescribeInventory(inv Inventory) string {
	where := DescribeRegions(inv)
	if where != "" {
		where = " " + where
	}
	if inv.Empty() {
		return NothingDepends + where
	}
	return strings.Join(DescribeImpacts(inv, AsIs), "; ") + where
}

// AsIs leaves an identifier as it is: the code of plain text.
func AsIs(s string) string { return s }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// YesNo says whether something holds (a trail is an organization trail).
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
