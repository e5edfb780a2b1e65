//go:build linux

package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// lookupRunAs resolves a run-as user, a name or a uid: nil when the shell runs as this
// process's own user ("" or its name). Another user needs this process to run as root; a
// user this host does not know is an error that says so.
func lookupRunAs(name string) (*account, error) {
	if name == "" {
		return nil, nil
	}
	cur, err := user.Current()
	if err == nil && cur.Username == name {
		return nil, nil
	}
	if os.Geteuid() != 0 {
		self := "another user"
		if cur != nil {
			self = cur.Username
		}
		return nil, fmt.Errorf("process executor: run-as %s: the process executor runs commands as the user that runs it (%s) and cannot switch users unless it runs as root; remove run-as, run the build as %s, or run it as root", name, self, name)
	}
	u, err := user.Lookup(name)
	if _, nerr := strconv.ParseUint(name, 10, 32); err != nil && nerr == nil {
		u, err = user.LookupId(name) // a uid, as Docker accepts
	}
	if err != nil {
		var unknownID user.UnknownUserIdError
		if errors.As(err, &unknownID) {
			return nil, fmt.Errorf("process executor: run-as %s: no user with that uid on this host; create one (useradd) or remove run-as", name)
		}
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("process executor: run-as %s: no such user on this host; create it (useradd) or remove run-as", name)
		}
		return nil, fmt.Errorf("process executor: run-as %s: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("process executor: run-as %s: uid %q is not numeric", name, u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("process executor: run-as %s: gid %q is not numeric", name, u.Gid)
	}
	a := &account{name: u.Username, uid: uint32(uid), gid: uint32(gid), home: u.HomeDir}
	if a.home == "" {
		a.home = "/"
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("process executor: run-as %s: its groups: %w", name, err)
	}
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			a.groups = append(a.groups, uint32(g))
		}
	}
	return a, nil
}

// switchUser makes cmd run as the account: uid, gid and supplementary groups (after
// ownGroup, which made SysProcAttr).
func (a *account) switchUser(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.groups}
}

// fileOwner is the owner and group of a file.
func fileOwner(st fs.FileInfo) (uid, gid uint32, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return sys.Uid, sys.Gid, true
}
