package config_test

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/exit"
)

// A main registers the configuration flags, loads once, and exits with
// status 2 when the configuration has problems, before starting anything.
// With cobra, register on the root command's PersistentFlags and pass the
// running command's Flags() to Load.
func ExampleLoad() {
	fs := pflag.NewFlagSet("trailgate-worker", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(exit.Usage)
	}
	cfg, err := config.Load(config.LoadOptions{Flags: fs})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exit.Code(err))
	}
	_ = cfg // hand cfg down as a value
}
