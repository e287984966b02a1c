// Command trailgate is the operator's CLI: it starts and drives changes
// that enable or disable CloudTrail trusted access across AWS organizations,
// and checks that everything is ready (trailgate doctor).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/trailgate/trailgate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
