package cli

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/workflows"
)

// CleanupCommandInput is the CloudTrail administrator's cleanup
// confirmation before a disable: `trailgate confirm-cleanup`.
type CleanupCommandInput struct {
	ChangeID string
	// Organization limits the confirmation to one organization; empty
	// confirms for every organization awaiting it.
	Organization                       string
	AcknowledgeMemberLoggingStops      bool
	AcknowledgeEventDataStores         bool
	AcknowledgeDelegatedAdministrators bool
	Comment                            string
	Identity                           IdentityFlags
	Wait                               bool
}

func (in CleanupCommandInput) validate() error {
	return problemsError(append(changeIDProblems(in.ChangeID), in.Identity.problems()...))
}

// ConfirmCleanup confirms CloudTrail-side cleanup as the person who proves
// it.
func ConfirmCleanup(ctx context.Context, s *session, in CleanupCommandInput) error {
	admin, err := s.decider(ctx, in.validate(), in.Identity)
	if err != nil {
		return err
	}
	c := workflows.CleanupConfirmation{
		Who:                                admin.who(),
		Comment:                            strings.TrimSpace(in.Comment),
		Organization:                       in.Organization,
		AcknowledgeMemberLoggingStops:      in.AcknowledgeMemberLoggingStops,
		AcknowledgeEventDataStores:         in.AcknowledgeEventDataStores,
		AcknowledgeDelegatedAdministrators: in.AcknowledgeDelegatedAdministrators,
	}
	if c.Who, err = admin.prove(ctx, c.Binding(in.ChangeID)); err != nil {
		return err
	}
	p, err := s.changes.decide(ctx, in.ChangeID, workflows.UpdateConfirmCleanup, "confirm cleanup for", c)
	if err != nil {
		return err
	}
	if !s.out.json {
		writeCleanupConfirmed(s.out.stdout, p, in.ChangeID, c)
	}
	return s.afterDecision(ctx, p, in.Wait)
}

// inventories are the last inventories of a change's running
// organizations, limited to one organization when org is set.
func inventories(p workflows.ChangeProgress, org string) []workflows.Inventory {
	var out []workflows.Inventory
	for _, t := range p.Targets {
		if t.Inventory == nil || t.Phase.Final() || (org != "" && t.Organization != org) {
			continue
		}
		out = append(out, *t.Inventory)
	}
	return out
}

// impactNouns name each kind of impact in the CLI's notes.
var impactNouns = map[workflows.Impact]string{
	workflows.ImpactOrganizationTrails:      "organization trails",
	workflows.ImpactEventDataStores:         "organization event data stores",
	workflows.ImpactDelegatedAdministrators: "delegated administrators",
}

// unacknowledged says what the last inventories found that a confirmation
// acknowledging ack leaves unacknowledged.
func unacknowledged(p workflows.ChangeProgress, org string, ack []workflows.Impact) []string {
	var out []string
	for _, inv := range inventories(p, org) {
		for _, k := range workflows.Impacts(inv) {
			if slices.Contains(ack, k) {
				continue
			}
			out = append(out, impactNouns[k]+" "+strings.Join(k.Of(inv), ", "))
		}
	}
	return out
}

// ackFlags are the flags that acknowledge every kind of impact the last
// inventories found.
func ackFlags(p workflows.ChangeProgress, org string) []string {
	var flags []string
	for _, inv := range inventories(p, org) {
		for _, k := range workflows.Impacts(inv) {
			if !slices.Contains(flags, k.Flag()) {
				flags = append(flags, k.Flag())
			}
		}
	}
	return flags
}

func newConfirmCleanupCommand(open openSession) *cobra.Command {
	var in CleanupCommandInput
	cmd := &cobra.Command{
		Use:   "confirm-cleanup <change-id>",
		Short: "As CloudTrail administrator, confirm that CloudTrail-side cleanup is done before a disable",
		Long: withIdentityHelp(`As CloudTrail administrator, confirm that CloudTrail-side cleanup is done
before trusted access is disabled, for one organization (--org) or for every
organization that awaits it. The confirmation acknowledges each kind of impact
the inventory found, because disabling stops each for the member accounts:
  --acknowledge-member-logging-stops       organization trails stop logging
  --acknowledge-event-data-stores          organization event data stores stop collecting
  --acknowledge-delegated-administrators   delegated administrators lose organization-wide access
Right before disabling, trailgate takes the inventory again; anything new since
the confirmation brings the change back here, with nothing disabled.`),
		Example: "  trailgate confirm-cleanup disable-20260101-020000-ab12 --profile carol --acknowledge-member-logging-stops",
	}
	aboutChange(cmd, open, &in.ChangeID, func(ctx context.Context, s *session) error { return ConfirmCleanup(ctx, s, in) })
	cmd.Flags().StringVar(&in.Organization, "org", "", "confirm for this organization only (default: every organization awaiting it)")
	cmd.Flags().BoolVar(&in.AcknowledgeMemberLoggingStops, "acknowledge-member-logging-stops", false, "acknowledge that remaining organization trails stop logging for member accounts")
	cmd.Flags().BoolVar(&in.AcknowledgeEventDataStores, "acknowledge-event-data-stores", false, "acknowledge that organization event data stores stop collecting member accounts' events")
	cmd.Flags().BoolVar(&in.AcknowledgeDelegatedAdministrators, "acknowledge-delegated-administrators", false, "acknowledge that CloudTrail's delegated administrators lose their organization-wide access")
	cmd.Flags().StringVar(&in.Comment, "comment", "", "comment for the record")
	addDeciderFlags(cmd.Flags(), &in.Identity, "CloudTrail administrator", &in.Wait, followToGateHelp)
	return cmd
}
