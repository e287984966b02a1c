//go:build !linux

package chaos

import "os/exec"

// dieWithParent does nothing where the kernel cannot tie a child's life to
// its parent's; Harness.Close stops what the harness started.
func dieWithParent(*exec.Cmd) {}
