package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"

	"github.com/trailgate/trailgate/config"
)

// session is what the change commands share: the configuration, the calls
// to Temporal about changes, and where and how to write.
type session struct {
	cfg     config.Config
	changes changes
	out     output
	// poll is how often a followed change is asked for its progress.
	poll time.Duration
	// identity finds who runs a decision command.
	identity identitySources
	now      func() time.Time
}

// person finds who runs a decision command, ready to prove it. A person
// without AWS credentials is told that their name goes as a claim.
func (s *session) person(ctx context.Context, f IdentityFlags) (person, error) {
	p, err := s.identity.person(ctx, s.cfg, f)
	if err == nil && p.claims() {
		fmt.Fprintf(s.out.stderr, "trailgate: no AWS credentials prove who you are: %s goes as a claim, which the worker accepts only where its identity.allow_claims is true (else use --profile NAME or AWS_PROFILE)\n", p.name)
	}
	return p, err
}

// decider checks a decision command's input, then finds who runs it.
func (s *session) decider(ctx context.Context, problems error, f IdentityFlags) (person, error) {
	if problems != nil {
		return person{}, problems
	}
	return s.person(ctx, f)
}

// followAndReport follows a change as opts say, prints where it stands
// then with --json, and says how it ended once it has.
func (s *session) followAndReport(ctx context.Context, changeID string, opts followOptions) error {
	p, err := s.follow(ctx, changeID, opts)
	if err != nil {
		return err
	}
	if s.out.json {
		if err := writeJSON(s.out.stdout, p); err != nil {
			return err
		}
	}
	return endedError(p)
}

// followEvery is how often --wait and --watch ask a change for its
// progress.
var followEvery = time.Second

// newSession is the session of a command: the configuration, the calls to
// Temporal through c, and the output its flags and terminal ask for.
func newSession(cmd *cobra.Command, cfg config.Config, c client.Client) *session {
	s := &session{
		cfg:     cfg,
		changes: changes{client: c, namespace: cfg.Temporal.Namespace, taskQueue: cfg.Temporal.TaskQueue},
		out:     output{stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), uiURL: cfg.Temporal.UIURL, namespace: cfg.Temporal.Namespace},
		poll:    followEvery,
		now:     time.Now,
	}
	if f := cmd.Flags().Lookup("json"); f != nil {
		s.out.json = f.Value.String() == "true"
	}
	s.out.tty = s.out.stdout == os.Stdout && term.IsTerminal(int(os.Stdout.Fd()))
	if s.out.tty {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.out.width = w
		}
	}
	s.identity = identitySources{lookupEnv: os.LookupEnv, now: s.now}
	return s
}

// sessionOpener returns the openSession of the change commands: load the
// configuration from the command's flags (every problem at once, exit
// status 2), then connect to Temporal with dial.
func sessionOpener(dial func(config.Config) (client.Client, error)) openSession {
	return func(cmd *cobra.Command) (*session, func(), error) {
		cfg, err := config.Load(config.LoadOptions{Flags: cmd.Flags()})
		if err != nil {
			return nil, nil, err
		}
		c, err := dial(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; is the worker's Temporal running? `trailgate doctor` checks", cfg.Temporal.Address, cfg.Temporal.Namespace, err)
		}
		return newSession(cmd, cfg, c), c.Close, nil
	}
}
