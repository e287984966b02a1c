package cli

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailgate/trailgate/workflows"
)

// WhoamiCommandInput asks the worker who the person running the command
// is, as a decision would prove it: `trailgate whoami`.
type WhoamiCommandInput struct {
	Identity IdentityFlags
}

func (in WhoamiCommandInput) validate() error {
	return problemsError(in.Identity.problems())
}

// identifyTimeout bounds whoami: the worker verifies one proof with STS.
const identifyTimeout = time.Minute

// Whoami proves who runs it to the worker, which verifies the proof as it
// verifies every decision's and says whom it maps to and what they may do
// under its policy. It changes nothing. A proof the worker refuses (an ARN
// mapped to nobody, a claim where claims are not allowed) exits with
// status 2 and the worker's reason.
func Whoami(ctx context.Context, s *session, in WhoamiCommandInput) error {
	p, err := s.decider(ctx, in.validate(), in.Identity)
	if err != nil {
		return err
	}
	who, err := p.prove(ctx, workflows.IdentifyBinding(p.who().Nonce))
	if err != nil {
		return err
	}
	id, err := s.identify(ctx, who)
	if err != nil {
		return err
	}
	return s.out.print(id, func(w io.Writer) { writeIdentity(w, id) })
}

// identify runs an IdentifyWorkflow for who and returns its answer.
func (s *session) identify(ctx context.Context, who workflows.Who) (workflows.Identity, error) {
	var id workflows.Identity
	nonce := who.Nonce
	if nonce == "" {
		nonce = newNonce()
	}
	err := s.changes.ask(ctx, question{
		workflowID: "identify-" + nonce,
		workflow:   workflows.IdentifyWorkflowName,
		input:      workflows.IdentifyInput{Who: who},
		summary:    "whoami: who a proof of identity proves",
		timeout:    identifyTimeout,
		doing:      "ask the worker who you are",
	}, &id)
	return id, err
}

func newWhoamiCommand(open openSession) *cobra.Command {
	var in WhoamiCommandInput
	short := "Prove who you are to the worker: your AWS principal, the person it maps to, and your roles"
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: short,
		Long: withIdentityHelp(short + `.

The worker verifies the proof exactly as it verifies a decision's, and answers
with the person it maps to and what they may do under its policy (requester,
approver, cloudtrail-admin). Nothing is changed.

With --json, prints {"who": {"by", "arn?", "claimed?"}, "roles": [role],
"policy": Policy}.`),
		Example: "  trailgate whoami --profile alice\n  AWS_PROFILE=carol trailgate whoami --json",
		Args:    cobra.NoArgs,
	}
	runs(cmd, open, func(ctx context.Context, s *session) error { return Whoami(ctx, s, in) })
	addIdentityFlags(cmd.Flags(), &in.Identity, "who you are")
	return cmd
}
