// Package topology runs trailgate as production runs it, each part its own
// process on this machine: PostgreSQL, Temporal's own server on it with its
// schema set up by Temporal's own tool, the AWS sandbox, and workers. make
// test-postgres drives a change through it and kills a worker on the way.
package topology

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Process is a program the topology started. Its output goes to its log
// file.
type Process struct {
	// Name says what the process is, for people: "worker 1", "PostgreSQL".
	Name string
	// Log is the file that holds what the process printed.
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startProcess starts cmd, its output appended to the file log. The
// process dies with the test binary that started it.
func startProcess(name, log string, cmd *exec.Cmd) (*Process, error) {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	p := &Process{Name: name, Log: log, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// PID is the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Kill sends SIGKILL, as a crash would, and waits for the process to end.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the process to end with sig, waits up to grace, then kills it.
// It reports how the process ended.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("%s (pid %d) did not stop within %s of %s; killed", p.Name, p.PID(), grace, sig)
	}
}

// Tail is the last n lines of the process's log, for an error message.
func (p *Process) Tail(n int) string {
	data, err := os.ReadFile(p.Log)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// exitedEarly is the error of a process that ended while it was awaited.
func (p *Process) exitedEarly(waitingFor string) error {
	return fmt.Errorf("%s (pid %d) exited while waiting for %s: %v; the end of %s:\n%s", p.Name, p.PID(), waitingFor, p.err, p.Log, p.Tail(20))
}

// versionOf runs bin with args and returns the first line it prints.
func versionOf(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, out)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return "", errors.New(bin + " printed no version")
	}
	return line, nil
}
