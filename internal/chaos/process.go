package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is one bin/trailgate-worker run by the harness, started again on
// the same arguments after each kill. Its output is appended to log, so
// that one file tells every life of the process.
type process struct {
	name string
	path string
	args []string
	log  string

	cmd    *exec.Cmd
	exited chan struct{}
}

// start runs the process; it is not yet ready when start returns.
func (p *process) start() error {
	if p.cmd != nil && !p.hasExited() {
		return fmt.Errorf("start %s: it is already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start %s: open its log: %w", p.name, err)
	}
	fmt.Fprintf(out, "\n==> chaos: %s starts at %s\n", p.name, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s (%s): %w", p.name, p.path, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	return nil
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// signal sends sig, as a crash (SIGKILL) or an operator (SIGTERM) would.
func (p *process) signal(sig syscall.Signal) error {
	if p.cmd == nil || p.hasExited() {
		return fmt.Errorf("signal %s: it is not running", p.name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s (pid %d) with %v: %w", p.name, p.cmd.Process.Pid, sig, err)
	}
	return nil
}

// wait waits for the process to exit, at most d.
func (p *process) wait(d time.Duration) error {
	select {
	case <-p.exited:
		return nil
	case <-time.After(d):
		return fmt.Errorf("%s (pid %d) did not exit within %s", p.name, p.cmd.Process.Pid, d)
	}
}

// stop ends the process as an operator would, SIGTERM, and kills it when
// it does not exit in time.
func (p *process) stop(d time.Duration) error {
	if p.cmd == nil || p.hasExited() {
		return nil
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := p.wait(d); err != nil {
		_ = p.signal(syscall.SIGKILL)
		_ = p.wait(10 * time.Second)
		return err
	}
	return nil
}

// tail is the end of the process's log, for a failure message.
func (p *process) tail() string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return fmt.Sprintf("(its log %s cannot be read: %v)", p.log, err)
	}
	const keep = 3000
	if len(data) > keep {
		data = data[len(data)-keep:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return fmt.Sprintf("last lines of %s:\n%s", p.log, data)
}
