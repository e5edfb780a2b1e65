package session

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// killBuildProcesses kills (SIGKILL) the processes of this user whose environment holds
// CODEBUILD_BUILD_ID=id: the commands of a process-executor build that a killed agent left
// running (every process of a build inherits the variable; the builder lets nothing override
// it). It returns how many it killed. Processes of other users cannot be read and are left.
func killBuildProcesses(id string) int {
	want := []byte("CODEBUILD_BUILD_ID=" + id)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					n++
				}
				break
			}
		}
	}
	return n
}
