package lifecycle

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/appspec"
)

// permission applies one permissions step.
func (in *installer) permission(s appspec.PermissionStep) error {
	switch s.Kind {
	case appspec.StepMode:
		return os.Chmod(s.Path, s.Mode)
	case appspec.StepACL:
		return setACL(s)
	case appspec.StepSELinux:
		return in.setContext(s)
	case appspec.StepOwner:
		return setOwner(s)
	default:
		return fmt.Errorf("unknown permission step kind %q", s.Kind)
	}
}

// setACL applies the entries with setfacl(1), which must be installed.
func setACL(s appspec.PermissionStep) error {
	setfacl, err := exec.LookPath("setfacl")
	if err != nil {
		return errors.New("acls need setfacl, which is not installed on this host (install the acl package: apt-get install acl, dnf install acl)")
	}
	entries := make([]string, len(s.ACL))
	for i, e := range s.ACL {
		entries[i] = e.String()
	}
	return runTool(setfacl, "-m", strings.Join(entries, ","), "--", s.Path)
}

// setContext applies an SELinux context with chcon(1). A host without chcon has no SELinux
// tools: the step is skipped with a warning.
func (in *installer) setContext(s appspec.PermissionStep) error {
	if s.Context == nil {
		return nil
	}
	chcon, ok := lookTool("chcon")
	if !ok {
		in.warnings = append(in.warnings, fmt.Sprintf("%s: SELinux context not applied to %s: chcon is not installed on this host", s.Field, s.Path))
		return nil
	}
	args := []string{}
	if s.Context.Name != "" {
		args = append(args, "-u", s.Context.Name)
	}
	if s.Context.Type != "" {
		args = append(args, "-t", s.Context.Type)
	}
	if s.Context.Range != "" {
		args = append(args, "-l", s.Context.Range)
	}
	args = append(args, "--", s.Path)
	return runTool(chcon, args...)
}

// lookTool finds a program on PATH.
func lookTool(name string) (string, bool) {
	p, err := exec.LookPath(name)
	return p, err == nil
}

func runTool(path string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", path, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// setOwner changes owner and group. Linux clears setuid and setgid on chown, which would undo
// a mode step of the same entry (mode is applied first, as in CodeDeploy); those bits are put
// back, since the spec asked for both.
func setOwner(s appspec.PermissionStep) error {
	uid, gid := -1, -1
	if s.Owner != "" {
		id, err := lookupID(s.Owner, true)
		if err != nil {
			return err
		}
		uid = id
	}
	if s.Group != "" {
		id, err := lookupID(s.Group, false)
		if err != nil {
			return err
		}
		gid = id
	}
	fi, err := os.Lstat(s.Path)
	if err != nil {
		return err
	}
	if err := os.Lchown(s.Path, uid, gid); err != nil {
		return err
	}
	if special := fi.Mode() & (fs.ModeSetuid | fs.ModeSetgid); special != 0 && fi.Mode()&fs.ModeSymlink == 0 {
		return os.Chmod(s.Path, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	}
	return nil
}

func lookupID(name string, isUser bool) (int, error) {
	var id string
	if isUser {
		u, err := user.Lookup(name)
		if err != nil {
			if n, nerr := strconv.Atoi(name); nerr == nil && n >= 0 {
				return n, nil
			}
			return 0, fmt.Errorf("owner %q: %w", name, err)
		}
		id = u.Uid
	} else {
		g, err := user.LookupGroup(name)
		if err != nil {
			if n, nerr := strconv.Atoi(name); nerr == nil && n >= 0 {
				return n, nil
			}
			return 0, fmt.Errorf("group %q: %w", name, err)
		}
		id = g.Gid
	}
	return strconv.Atoi(id)
}
