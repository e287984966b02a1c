package devmode

import (
	"os"
	"runtime/debug"
)

// MemoryLimit is the Go runtime's soft memory limit for the embedded
// default, which runs Temporal's server, the AWS sandbox and the worker in
// one process on a person's machine: past it the garbage collector works
// harder rather than letting the process grow. GOMEMLIMIT, when set, says
// otherwise.
const MemoryLimit = 384 << 20

// LimitMemory sets MemoryLimit unless GOMEMLIMIT is set, and returns the
// limit in force.
func LimitMemory() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	debug.SetMemoryLimit(MemoryLimit)
	return MemoryLimit
}
