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
	// Decision is the decision, without the word.
	Decision any `json:"decision"`
}

// message is what the word is for: both workflow IDs and the decision as
// JSON with its keys in order, however it came (a workflow's struct, or
// the map a payload decodes into).
func (v Vouching) message() ([]byte, error) {
	b, err := json.Marshal(v.Decision)
	if err != nil {
		return nil, err
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, err
	}
	if b, err = json.Marshal(plain); err != nil {
		return nil, err
	}
	return append([]byte(v.From+"\x00"+v.To+"\x00"), b...), nil
}

// VouchCheck asks whether Word is the worker's word for a decision.
type VouchCheck struct {
	Vouching
	Word string `json:"word"`
}

// vouch is the worker's word for a decision it sends.
func (a *Activities) vouch(v Vouching) (string, error) {
	if a.authority.ProofKey == nil {
		return "", temporal.NewNonRetryableApplicationError("this worker has no proof key to vouch for decisions with: set identity.proof_key_file in the worker's configuration", ErrProofRefused, nil)
	}
	msg, err := v.message()
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("vouch for a decision: "+err.Error(), ErrProofRefused, nil)
	}
	return a.authority.ProofKey.Vouch(msg), nil
}

// VouchAll is the worker's word for each decision it sends, in order: a
// change vouches for a wave's decisions in one call.
func (a *Activities) VouchAll(_ context.Context, vs []Vouching) ([]string, error) {
	words := make([]string, len(vs))
	for i, v := range vs {
		w, err := a.vouch(v)
		if err != nil {
			return nil, err
		}
		words[i] = w
	}
	return words, nil
}

// Vouched reports whether a decision carries the worker's word. A worker
// without a proof key vouches for nothing.
func (a *Activities) Vouched(_ context.Context, c VouchCheck) (bool, error) {
	if a.authority.ProofKey == nil {
		return false, nil
	}
	msg, err := c.message()
	if err != nil {
		return false, nil
	}
	return a.authority.ProofKey.Vouches(msg, c.Word), nil
}
