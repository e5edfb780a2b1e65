//go:build e2e && unix && !linux

package e2e

import "syscall"

// procAttr puts a child in its own process group, so that signals meant for it reach it alone
// and a Ctrl-C in the terminal running the tests does not.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
