//go:build unix

package executor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// startFailureOS classifies a platform-specific start error; Unix has none beyond startFailure's.
func startFailureOS(Script, error) (Result, bool) { return Result{}, false }

// execBits reports whether scripts need an execute bit, which checkScript sets when missing.
const execBits = true

// command builds the process for s; viaSh runs the script with /bin/sh.
func (e *Executor) command(s Script, viaSh bool) (*exec.Cmd, error) {
	env := setEnv(e.baseEnv(), s.Env...)
	argv := []string{s.Path}
	if viaSh {
		argv = []string{"/bin/sh", s.Path}
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	root := os.Geteuid() == 0

	switch {
	case s.Sudo && !root:
		// sudo resets the environment, so the variables travel through env(1).
		sudo, err := exec.LookPath("sudo")
		if err != nil {
			return nil, &userError{fmt.Errorf("script %s has sudo: true but sudo is not installed on this host", s.Name)}
		}
		pre := []string{sudo, "-n"}
		if s.RunAs != "" {
			pre = append(pre, "-u", s.RunAs, "-H")
		}
		pre = append(pre, "--", "env")
		pre = append(pre, s.Env...)
		argv = append(pre, argv...)
	case s.RunAs != "":
		cred, uenv, err := lookupUser(s.RunAs)
		if err != nil {
			return nil, &userError{fmt.Errorf("script %s: runas %s: %w", s.Name, s.RunAs, err)}
		}
		attr.Credential = cred
		env = setEnv(env, uenv...)
	}

	cmd := &exec.Cmd{Path: argv[0], Args: argv, Env: env, Dir: s.Dir, SysProcAttr: attr}
	return cmd, nil
}

// lookupUser returns the credential and the account variables of a runas user.
func lookupUser(name string) (*syscall.Credential, []string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, nil, fmt.Errorf("uid %q is not numeric", u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, nil, fmt.Errorf("gid %q is not numeric", u.Gid)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	home := u.HomeDir
	if home == "" {
		home = "/"
	}
	env := []string{
		"HOME=" + home,
		"USER=" + u.Username,
		"LOGNAME=" + u.Username,
		"SHELL=" + loginShell(u.Username),
		"PATH=" + DefaultPath,
	}
	return cred, env, nil
}

// loginShell reads the user's shell from /etc/passwd; /bin/sh when it is not there.
func loginShell(name string) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/bin/sh"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) == 7 && fields[0] == name && fields[6] != "" {
			return fields[6]
		}
	}
	return "/bin/sh"
}
