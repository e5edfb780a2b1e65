package executor

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// account is a run-as user the process executor switches to.
type account struct {
	name     string
	uid, gid uint32
	groups   []uint32
	home     string
}

// environ is env with HOME, USER and LOGNAME of the account (the rest of the build's
// environment, PATH included, is kept).
func (a *account) environ(env []string) []string {
	set := map[string]string{"HOME": a.home, "USER": a.name, "LOGNAME": a.name}
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for _, k := range []string{"HOME", "USER", "LOGNAME"} {
		out = append(out, k+"="+set[k])
	}
	return out
}

// member says whether the account has group gid.
func (a *account) member(gid uint32) bool {
	if gid == a.gid {
		return true
	}
	for _, g := range a.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// reachable checks that the account may search every directory from / down to dir (dir
// included), so that a shell of it can start in a directory below dir.
func (a *account) reachable(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		uid, gid, ok := fileOwner(st)
		if ok {
			perm := st.Mode().Perm()
			var bit fs.FileMode = 0o001
			switch {
			case uid == a.uid:
				bit = 0o100
			case a.member(gid):
				bit = 0o010
			}
			if perm&bit == 0 {
				return fmt.Errorf("process executor: run-as %s: the workspace under %s is out of its reach: %s (mode %s) is not searchable by %s; choose a directory it can reach (chmod o+x %s, or TMPDIR for a local build)", a.name, dir, d, st.Mode().Perm(), a.name, d)
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// chownTree gives dir and everything below it to the account: links themselves, never
// what they point to. The walk and the chowns go through an os.Root of dir, so a path whose
// directory was swapped for a link meanwhile (by a process of the build that outlived its
// session) cannot reach outside dir.
func (a *account) chownTree(dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return root.Lchown(path, int(a.uid), int(a.gid))
	})
}
