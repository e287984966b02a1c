package proof_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/internal/proof"
)

// wantRefusal fails unless err is a *proof.Refusal of kind whose message
// says each of says.
func wantRefusal(t *testing.T, err error, kind proof.RefusalKind, says ...string) {
	t.Helper()
	var r *proof.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("want a %s refusal, got %v", kind, err)
	}
	if r.Kind != kind {
		t.Fatalf("want a %s refusal, got %s: %v", kind, r.Kind, r)
	}
	for _, s := range says {
		if !strings.Contains(r.Message, s) {
			t.Errorf("%s refusal %q does not say %q", kind, r.Message, s)
		}
	}
	if first := r.Message[:1]; first != strings.ToLower(first) && !strings.HasPrefix(r.Message, "STS") {
		t.Errorf("refusal %q does not start lower-case", r.Message)
	}
}
