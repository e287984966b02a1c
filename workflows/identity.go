package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/activities"
)

// Binding is the one decision a proof of identity is made for. The CLI puts
// its String into the signed header of the person's sts:GetCallerIdentity
// request; the worker computes the binding of the decision it received and
// accepts the proof only when the two are the same.
type Binding struct {
	ChangeID     string
	Decision     DecisionKind
	Wave         int
	Organization string
	// Digest covers what else the decision says: its comment, its
	// acknowledgement, or a request's whole input.
	Digest string
	// Nonce makes each proof unique, so that it works once.
	Nonce string
}

const bindingVersion = "trailgate/v1"

// String is the binding as it travels in the signed header.
func (b Binding) String() string {
	org := b.Organization
	if org == "" {
		org = "-"
	}
	return fmt.Sprintf("%s change=%s decision=%s wave=%d org=%s digest=%s nonce=%s",
		bindingVersion, b.ChangeID, b.Decision, b.Wave, org, b.Digest, b.Nonce)
}

// ParseBinding reads a binding from a proof's signed header.
func ParseBinding(s string) (Binding, error) {
	fields := strings.Fields(s)
	if len(fields) != 7 || fields[0] != bindingVersion {
		return Binding{}, fmt.Errorf("the proof is not bound to a trailgate decision (%q)", s)
	}
	var b Binding
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "change":
			b.ChangeID = v
		case "decision":
			b.Decision = DecisionKind(v)
		case "wave":
			n, err := strconv.Atoi(v)
			if err != nil {
				return Binding{}, fmt.Errorf("the proof's binding has wave %q, not a number", v)
			}
			b.Wave = n
		case "org":
			if v != "-" {
				b.Organization = v
			}
		case "digest":
			b.Digest = v
		case "nonce":
			b.Nonce = v
		default:
			return Binding{}, fmt.Errorf("the proof's binding has an unknown field %q", k)
		}
	}
	return b, nil
}

// mismatch says how a proof's binding differs from the decision's, or ""
// when they are the same.
func (b Binding) mismatch(got Binding) string {
	const again = ": a proof works only for the decision it was made for; run the command again"
	switch {
	case got.ChangeID != b.ChangeID:
		return fmt.Sprintf("the proof was made for change %s, not %s%s", got.ChangeID, b.ChangeID, again)
	case got.Decision != b.Decision:
		return fmt.Sprintf("the proof was made to %s, not to %s%s", got.Decision, b.Decision, again)
	case got.Wave != b.Wave:
		return fmt.Sprintf("the proof was made for wave %d, not wave %d%s", got.Wave, b.Wave, again)
	case got.Organization != b.Organization:
		return fmt.Sprintf("the proof was made for organization %q, not %q%s", got.Organization, b.Organization, again)
	case got.Digest != b.Digest && b.Decision == DecisionRequest:
		return "the proof was made for another request: its organizations, waves, windows, limits or reason differ" + again
	case got.Digest != b.Digest:
		return "the proof was made for another comment, reason or acknowledgement" + again
	case got.Nonce != b.Nonce:
		return "the proof was made with another nonce" + again
	}
	return ""
}

// digest is a short hash of what a decision says besides its kind; each
// part is length-prefixed, so that no two lists of parts hash alike.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p)) + ":" + p + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Binding is the decision an approval or rejection proves.
func (d Decision) Binding(changeID string, kind DecisionKind) Binding {
	parts := []string{d.Comment}
	if d.round() > 1 {
		// Only a round after the first is bound, so that proofs made
		// before rounds existed keep their digest.
		parts = append(parts, "round", strconv.Itoa(d.round()))
	}
	return Binding{ChangeID: changeID, Decision: kind, Wave: d.Wave, Digest: digest(parts...), Nonce: d.Nonce}
}

// Binding is the decision a cleanup confirmation proves.
func (c CleanupConfirmation) Binding(changeID string) Binding {
	return Binding{ChangeID: changeID, Decision: DecisionConfirmCleanup, Organization: c.Organization,
		Digest: c.digest(), Nonce: c.Nonce}
}

// digest binds what a confirmation says; the acknowledgements beyond
// member-account logging count only when given, so that confirmations
// proven before they existed keep their digest.
func (c CleanupConfirmation) digest() string {
	parts := []string{c.Comment, strconv.FormatBool(c.AcknowledgeMemberLoggingStops)}
	if c.AcknowledgeEventDataStores || c.AcknowledgeDelegatedAdministrators {
		parts = append(parts, strconv.FormatBool(c.AcknowledgeEventDataStores), strconv.FormatBool(c.AcknowledgeDelegatedAdministrators))
	}
	return digest(parts...)
}

// Binding is the decision a pause, resume or cancel proves.
func (c Control) Binding(changeID string, kind DecisionKind) Binding {
	return Binding{ChangeID: changeID, Decision: kind, Digest: digest(c.Reason), Nonce: c.Nonce}
}

// Binding is the request a change's input proves: every choice of the
// requester is in its digest.
func (in ChangeInput) Binding() Binding {
	parts := []string{string(in.Action), strings.Join(in.Organizations, ","), strings.Join(in.Waves, ","),
		strconv.Itoa(in.Concurrency), strconv.Itoa(in.FailureBudget), strconv.FormatBool(in.ApproveEveryWave), in.Reason}
	for _, w := range in.Windows {
		parts = append(parts, strings.Join(w.Weekdays, ",")+" "+w.Start+"+"+w.Duration.String())
	}
	return Binding{ChangeID: in.ChangeID, Decision: DecisionRequest, Digest: digest(parts...), Nonce: in.Requester.Nonce}
}

// IdentifyBinding is what `trailgate whoami` proves: only who one is.
func IdentifyBinding(nonce string) Binding {
	return Binding{ChangeID: "-", Decision: DecisionIdentify, Digest: digest(), Nonce: nonce}
}

// refused is a decision's refusal, final.
func refused(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrDecisionRefused, nil)
}

// prove establishes who is behind a decision: it verifies the sealed proof
// (a local activity: the worker opens it and asks STS), checks that it was
// made for this decision and not used before, and maps the verified ARN to
// a person of the policy. Without a proof, a name is accepted only where
// the policy allows claims. It changes nothing; the caller applies the
// decision. When it refuses a proof whose signer STS verified, it still
// returns who signed it.
func prove(ctx workflow.Context, policy GatePolicy, used *nonces, w Who, want Binding) (Who, error) {
	if w.Proof == "" {
		if !policy.AllowClaims {
			return Who{}, refused("no proof of identity: the worker accepts decisions only with a proof signed by your AWS credentials (the trailgate CLI makes one; see --profile)")
		}
		if strings.TrimSpace(w.By) == "" {
			return Who{}, refused("say who you are (--as): the worker accepts claimed names, but this decision names nobody")
		}
		return Who{By: strings.TrimSpace(w.By), Claimed: true}, nil
	}
	if want.Nonce == "" {
		return Who{}, refused("the proof has no nonce: a proof is made for one decision, with a nonce of its own")
	}
	// The nonce is spent before the proof is verified, so that the same
	// proof sent twice at once is taken at most once.
	if !used.spend(want.Nonce) {
		return Who{}, refused("this proof was already used: a proof works once; run the command again")
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		// STS throttling or failing is ridden out for as long as a proof
		// would live anyway (SigV4 signatures expire after 15 minutes).
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 15 * time.Second},
	})
	var res activities.ProofResult
	if err := workflow.ExecuteLocalActivity(lctx, a.VerifyProof, activities.ProofInput{Sealed: w.Proof, Binding: want.String()}).Get(ctx, &res); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrProofRefused {
			return Who{}, refused("the proof was refused: %s", appErr.Message())
		}
		return Who{}, fmt.Errorf("verify the proof of identity: %w", err)
	}
	if res.ARN == "" {
		got, err := ParseBinding(res.Binding)
		if err != nil {
			return Who{}, refused("%v", err)
		}
		return Who{}, refused("%s", want.mismatch(got))
	}
	// From here on the signer is known: a refusal names them, for the
	// record of who tried what.
	person, err := personOf(policy, res.ARN)
	if err != nil {
		return Who{ARN: res.ARN}, err
	}
	who := Who{By: person, ARN: res.ARN}
	if claimed := strings.TrimSpace(w.By); claimed != "" && claimed != person {
		return who, refused("the proof is %s's (%s), not %s's: decide as yourself", person, res.ARN, claimed)
	}
	return who, nil
}

// nonces are the nonces of the proofs a change has taken, in the order it
// took them.
type nonces struct {
	seen  map[string]bool
	order []string
}

func newNonces(spent []string) *nonces {
	n := &nonces{seen: map[string]bool{}}
	for _, s := range spent {
		n.spend(s)
	}
	return n
}

// spend marks a nonce used and reports whether it was still unused.
func (n *nonces) spend(nonce string) bool {
	if n.seen[nonce] {
		return false
	}
	n.seen[nonce] = true
	n.order = append(n.order, nonce)
	return true
}

// personOf maps a verified ARN to the one person of the policy whose
// principals match it.
func personOf(policy GatePolicy, arn string) (string, error) {
	var names []string
	for _, p := range policy.People {
		if slices.ContainsFunc(p.Principals, func(pattern string) bool { return principalMatches(pattern, arn) }) {
			names = append(names, p.Name)
		}
	}
	switch len(names) {
	case 0:
		return "", refused("%s is not mapped to any person in the worker's configuration (people:); ask an operator to add it, or sign with the credentials of a person who is", arn)
	case 1:
		return names[0], nil
	}
	return "", refused("%s matches more than one person (%s) in the worker's configuration; ask an operator to make people's principals distinct", arn, strings.Join(names, ", "))
}

// principalMatches reports whether an ARN matches a principal of the
// configuration: the same string, or a pattern in which * stands for any run
// of characters.
func principalMatches(pattern, arn string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == arn
	}
	if !strings.HasPrefix(arn, parts[0]) {
		return false
	}
	rest := arn[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, mid)
		if i < 0 {
			return false
		}
		rest = rest[i+len(mid):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}

// may reports whether a person is on a gate's list; an empty list allows
// every person of the policy (the two-person rule still applies).
func may(list []string, who string) bool {
	return len(list) == 0 || slices.Contains(list, who)
}
