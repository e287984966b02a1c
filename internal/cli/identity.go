package cli

import (
	"fmt"
	"os"
	"os/user"
	"strings"
)

// UserEnv names the environment variable that says who is acting when --as
// is not given.
const UserEnv = "TRAILGATE_USER"

// identitySources are where the acting identity may come from, in order
// after --as; tests replace them.
type identitySources struct {
	lookupEnv func(string) (string, bool)
	osUser    func() (string, error)
}

var defaultIdentitySources = identitySources{
	lookupEnv: os.LookupEnv,
	osUser: func() (string, error) {
		u, err := user.Current()
		if err != nil {
			return "", err
		}
		return u.Username, nil
	},
}

// actingIdentity is who runs a command: --as, else $TRAILGATE_USER, else the
// operating-system user. Approvals, confirmations and requests are recorded
// under this name.
func actingIdentity(as string, src identitySources) (string, error) {
	if s := strings.TrimSpace(as); s != "" {
		return s, nil
	}
	if s, ok := src.lookupEnv(UserEnv); ok && strings.TrimSpace(s) != "" {
		return strings.TrimSpace(s), nil
	}
	name, err := src.osUser()
	if err != nil {
		return "", usage(fmt.Errorf("find who is acting: %w; say who with --as or $%s", err, UserEnv))
	}
	if name = strings.TrimSpace(name); name == "" {
		return "", usage(fmt.Errorf("find who is acting: the operating-system user has no name; say who with --as or $%s", UserEnv))
	}
	return name, nil
}
