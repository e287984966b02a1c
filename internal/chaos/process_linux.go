package chaos

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the process when the harness dies, so
// that a test killed by its timeout leaves no dev default holding ports.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
