//go:build !unix

package gitexec

import "os/exec"

// inGroup leaves cmd as it is: outside Unix only git itself is killed on cancel.
func inGroup(cmd *exec.Cmd) {}
