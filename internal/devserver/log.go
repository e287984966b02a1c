package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLog hands the Temporal server's logs to an slog.Logger, dropping
// what is below level: the server is chatty, and trailgate's users care
// about its warnings and errors, not its lifecycle.
type serverLog struct {
	logger *slog.Logger
	level  slog.Leveler
	tags   []tag.Tag
}

var (
	_ log.Logger     = serverLog{}
	_ log.WithLogger = serverLog{}
)

func (l serverLog) Debug(msg string, tags ...tag.Tag) { l.log(slog.LevelDebug, msg, tags) }
func (l serverLog) Info(msg string, tags ...tag.Tag)  { l.log(slog.LevelInfo, msg, tags) }
func (l serverLog) Warn(msg string, tags ...tag.Tag)  { l.log(slog.LevelWarn, msg, tags) }
func (l serverLog) Error(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }

// The server's panics are logged as errors: the process belongs to
// trailgate, which decides whether to stop.
func (l serverLog) DPanic(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }
func (l serverLog) Panic(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags) }

// Fatal is logged, then raised as a serverFatal panic: the server cannot
// go on (a listener it could not open, say), and going on anyway panicked
// later, far from the cause. Start recovers it and says why.
func (l serverLog) Fatal(msg string, tags ...tag.Tag) {
	l.log(slog.LevelError, msg, tags)
	panic(serverFatal{msg: msg, detail: tagText(tags)})
}

// serverFatal is what the server called fatal.
type serverFatal struct{ msg, detail string }

func (f serverFatal) Error() string {
	if f.detail == "" {
		return f.msg
	}
	return f.msg + " (" + f.detail + ")"
}

// tagText writes tags as key=value pairs.
func tagText(tags []tag.Tag) string {
	parts := make([]string, 0, len(tags))
	for _, t := range tags {
		parts = append(parts, fmt.Sprintf("%s=%v", t.Key(), t.Value()))
	}
	return strings.Join(parts, " ")
}

func (l serverLog) With(tags ...tag.Tag) log.Logger {
	merged := make([]tag.Tag, 0, len(l.tags)+len(tags))
	merged = append(append(merged, l.tags...), tags...)
	return serverLog{logger: l.logger, level: l.level, tags: merged}
}

func (l serverLog) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if level < l.level.Level() || !l.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(l.tags)+len(tags))
	for _, t := range l.tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	l.logger.LogAttrs(ctx, level, msg, attrs...)
}
