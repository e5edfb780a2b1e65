//go:build unix

package gitexec

import (
	"os/exec"
	"syscall"
)

// inGroup makes cmd lead its own process group and, when its context ends, kills the whole
// group (git's children, such as pack-objects or index-pack and hooks, included).
func inGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
