package activities

import (
	"context"
	"encoding/json"

	"go.temporal.io/sdk/temporal"
)

// Vouching is a decision a change sends to one of its organizations'
// workflows by signal. Anyone who reaches Temporal can send a signal, so
// the worker vouches for the decisions it sends, with its proof key, and the
// receiving workflow checks the word without asking the change.
type Vouching struct {
	// From and To are the change's and the organization's workflow IDs.
	From string `json:"from"`
	To   string `json:"to"`
	// Decision is the decision as JSON, without the word.
	Decision json.RawMessage `json:"decision"`
}

func (v Vouching) message() []byte {
	return []byte(v.From + "\x00" + v.To + "\x00" + string(v.Decision))
}

// VouchCheck asks whether Word is the worker's word for a decision.
type VouchCheck struct {
	Vouching
	Word string `json:"word"`
}

// Vouch is the worker's word for a decision it sends.
func (a *Activities) Vouch(_ context.Context, v Vouching) (string, error) {
	if a.authority.ProofKey == nil {
		return "", temporal.NewNonRetryableApplicationError("this worker has no proof key to vouch for decisions with: set identity.proof_key_file in the worker's configuration", ErrProofRefused, nil)
	}
	return a.authority.ProofKey.Vouch(v.message()), nil
}

// Vouched reports whether a decision carries the worker's word. A worker
// without a proof key vouches for nothing.
func (a *Activities) Vouched(_ context.Context, c VouchCheck) (bool, error) {
	if a.authority.ProofKey == nil {
		return false, nil
	}
	return a.authority.ProofKey.Vouches(c.message(), c.Word), nil
}
