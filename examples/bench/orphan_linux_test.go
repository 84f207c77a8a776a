package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes cmd's process get SIGKILL when the test binary
// dies, even of a panic (a test's timeout) that runs no cleanup.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
