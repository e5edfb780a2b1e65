//go:build !linux

package executor

import (
	"fmt"
	"io/fs"
	"os/exec"
	"os/user"
)

// lookupRunAs resolves a run-as user: only this process's own user ("" or its name) is
// possible here; switching users is for Linux (process_user_linux.go).
func lookupRunAs(name string) (*account, error) {
	if name == "" {
		return nil, nil
	}
	if cur, err := user.Current(); err == nil && cur.Username == name {
		return nil, nil
	}
	return nil, fmt.Errorf("process executor: run-as %s: the process executor runs commands as the user that runs it and cannot switch users on this system (only as root on Linux); remove run-as or run the build as %s", name, name)
}

func (a *account) switchUser(*exec.Cmd) {}

func fileOwner(fs.FileInfo) (uid, gid uint32, ok bool) { return 0, 0, false }
