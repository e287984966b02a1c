package proof

// Refusal is a proof the worker will never accept; retrying does not help.
// Its Message says what was wrong and what to do.
type Refusal struct {
	Kind    RefusalKind
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// RefusalKind says why a proof was refused.
type RefusalKind string

// The reasons a proof is refused.
const (
	RefusedMalformed     RefusalKind = "malformed"
	RefusedOtherKey      RefusalKind = "other-key"
	RefusedNotBound      RefusalKind = "not-bound" // Header missing or not signed
	RefusedOtherEndpoint RefusalKind = "other-endpoint"
	RefusedExpired       RefusalKind = "expired"
	RefusedBySTS         RefusalKind = "refused-by-sts"
)

func refuse(kind RefusalKind, message string) *Refusal {
	return &Refusal{Kind: kind, Message: message}
}
