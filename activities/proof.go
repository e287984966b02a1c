package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/internal/proof"
)

// ProofInput is a person's sealed proof and the decision the worker expects
// it to be bound to.
type ProofInput struct {
	Sealed  string `json:"sealed"`
	Binding string `json:"binding"`
}

// ProofResult is what a proof showed: the decision it was bound to and,
// when that is the expected one, who STS says signed it.
type ProofResult struct {
	// Binding is the decision the proof was made for.
	Binding string `json:"binding"`
	// ARN and Account are the signer's, as STS answered; empty when the
	// binding differs from the expected one (STS is then not asked).
	ARN     string `json:"arn,omitempty"`
	Account string `json:"account,omitempty"`
}

// VerifyProof opens a person's sealed proof with the worker's key and, when
// it is bound to the expected decision, replays its signed
// sts:GetCallerIdentity to the STS endpoint the worker trusts. A proof that
// can never pass (malformed, sealed for another key, expired, refused by
// STS) is a non-retryable ProofRefused error that says why; STS being
// unreachable is retried.
func (a *Activities) VerifyProof(ctx context.Context, in ProofInput) (ProofResult, error) {
	if a.authority.ProofKey == nil {
		return ProofResult{}, temporal.NewNonRetryableApplicationError(
			"this worker has no proof key, so it cannot open proofs of identity: set identity.proof_key_file in the worker's configuration",
			ErrProofRefused, nil)
	}
	req, err := a.authority.ProofKey.Open(in.Sealed)
	if err != nil {
		return ProofResult{}, refusal("open the proof", err)
	}
	res := ProofResult{Binding: req.Binding()}
	if res.Binding != in.Binding {
		return res, nil
	}
	caller, err := a.authority.Verifier.Verify(ctx, req)
	if err != nil {
		return ProofResult{}, refusal("verify the proof with STS", err)
	}
	res.ARN, res.Account = caller.ARN, caller.Account
	return res, nil
}

// refusal makes a proof's refusal final; other errors stay retryable.
func refusal(doing string, err error) error {
	var r *proof.Refusal
	if errors.As(err, &r) {
		return temporal.NewNonRetryableApplicationError(r.Message, ErrProofRefused, nil)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
