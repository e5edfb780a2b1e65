//go:build e2e && linux

package e2e

import "syscall"

// procAttr puts a child in its own process group, so that signals meant for it reach it alone
// and a Ctrl-C in the terminal running the tests does not, and has the kernel kill it should
// the test binary die without running its cleanups (a panic on -timeout, say).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
