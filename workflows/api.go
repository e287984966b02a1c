// Package workflows holds trailgate's deterministic workflow code. This file
// is its API: every name another package (the worker, the CLI, the embedded
// default) needs — workflow, query and update names, payloads, search
// attributes and workflow-ID helpers.
package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Typed search attributes, kept current by the workflows so that the Temporal
// UI can filter changes by change, action, organization and phase.
var (
	ChangeIDKey     = temporal.NewSearchAttributeKeyKeyword("TrailgateChangeID")
	ActionKey       = temporal.NewSearchAttributeKeyKeyword("TrailgateAction")
	OrganizationKey = temporal.NewSearchAttributeKeyKeyword("TrailgateOrganization")
	PhaseKey        = temporal.NewSearchAttributeKeyKeyword("TrailgatePhase")
)

// SearchAttributes lists the custom search attributes a namespace must have
// registered for trailgate, by name and type.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		ChangeIDKey.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		ActionKey.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		OrganizationKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		PhaseKey.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}
