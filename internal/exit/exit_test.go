package exit_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/exit"
)

func TestCode(t *testing.T) {
	invalid := fmt.Errorf("load: %w", &config.ValidationError{Problems: []string{"temporal.namespace is empty"}})
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("dial failed"), 1},
		{invalid, 2},
	} {
		if got := exit.Code(c.err); got != c.want {
			t.Errorf("Code(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
