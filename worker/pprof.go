//go:build pprof

package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // serves /debug/pprof on the default mux
	"os"
)

// A worker built with -tags pprof serves Go's profiler at
// $TRAILGATE_PPROF_ADDRESS (such as 127.0.0.1:6060), for measuring where a
// large change spends its time. Release builds do not include it.
func init() {
	addr := os.Getenv("TRAILGATE_PPROF_ADDRESS")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("serve pprof", "address", addr, "err", err)
		}
	}()
}
