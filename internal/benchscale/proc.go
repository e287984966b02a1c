package benchscale

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// usage is what a running process has used so far, read from /proc.
type usage struct {
	CPU     time.Duration
	PeakRSS int64
}

// clockTicks is USER_HZ, the unit of /proc's CPU times; 100 on Linux.
const clockTicks = 100

// readUsage reads the CPU time (user and system) and peak resident set of
// the process pid.
func readUsage(pid int) (usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces: count fields after it.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return usage{}, fmt.Errorf("read the CPU time of process %d: /proc/%d/stat has %d fields after the name", pid, pid, len(fields))
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	u := usage{CPU: time.Duration(utime+stime) * time.Second / clockTicks}

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, fmt.Errorf("read the memory of process %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			u.PeakRSS = kib << 10
		}
	}
	return u, nil
}
