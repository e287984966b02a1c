// Package logging builds trailgate's slog logger from the log settings, for
// the worker, the CLI, the embedded Temporal server and the Temporal SDK.
package logging

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/trailgate/trailgate/config"
)

// Level parses log.level (debug, info, warn or error).
func Level(name string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("log level %q: use debug, info, warn or error", name)
	}
	return l, nil
}

// New returns a logger writing to w at cfg.Level, as text or JSON per
// cfg.Format. A level below minimum is raised to it, so that a command can
// keep the SDK quiet on a person's terminal.
func New(cfg config.Log, w io.Writer, minimum slog.Level) (*slog.Logger, error) {
	level, err := Level(cfg.Level)
	if err != nil {
		return nil, err
	}
	level = max(level, minimum)
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.Format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: use text or json", cfg.Format)
	}
}
