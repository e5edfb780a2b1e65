package lifecycle

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/slipwayhq/slipway/appspec"
)

// installer executes one InstallPlan on the host.
type installer struct {
	plan       *appspec.InstallPlan
	bundleRoot string
	removed    bool            // the previous install's paths are gone
	created    map[string]bool // host paths this install created
	warnings   []string
}

func (in *installer) apply() error {
	if err := in.removePrevious(); err != nil {
		return err
	}
	in.removed = true
	for _, m := range in.plan.Mkdirs {
		if err := in.mkdir(m); err != nil {
			return err
		}
	}
	for _, c := range in.plan.Copies {
		if err := in.copy(c); err != nil {
			return fmt.Errorf("%s: install %s: %w", c.Field, c.Destination, err)
		}
		in.created[c.Destination] = true
	}
	for _, s := range in.plan.Permissions {
		if err := in.permission(s); err != nil {
			return fmt.Errorf("%s: %s on %s: %w", s.Field, s.Kind, s.Path, err)
		}
	}
	return nil
}

// removePrevious deletes what the previous install created, newest first: files and symlinks,
// and folders only once empty (something else may have been put in them).
func (in *installer) removePrevious() error {
	for _, p := range in.plan.Remove {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("remove previous install: %w", err)
		}
		err = os.Remove(p)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if fi.IsDir() && (errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)) {
			continue
		}
		return fmt.Errorf("remove previous install: %w", err)
	}
	return nil
}

func (in *installer) mkdir(m appspec.Mkdir) error {
	err := os.Mkdir(m.Path, m.Mode.Perm())
	if errors.Is(err, fs.ErrExist) {
		if fi, serr := os.Stat(m.Path); serr == nil && fi.IsDir() {
			return nil // appeared since the plan; not ours to clean
		}
	}
	if err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	in.created[m.Path] = true
	if err := os.Chmod(m.Path, m.Mode); err != nil { // the umask narrowed Mkdir's mode
		return fmt.Errorf("create folder: %w", err)
	}
	return nil
}

func (in *installer) copy(c appspec.Copy) error {
	src := filepath.Join(in.bundleRoot, filepath.FromSlash(c.Source))
	if c.Kind == appspec.CopySymlink {
		if c.Overwrite {
			if err := os.Remove(c.Destination); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return os.Symlink(c.LinkTarget, c.Destination)
	}
	// Only permission bits come from the bundle: setuid, setgid and sticky are set by the
	// AppSpec's permissions section alone (pkg/bundle already drops them on unpack).
	return copyFile(src, c.Destination, c.Mode&fs.ModePerm)
}

// copyFile writes src to dst through a temporary file renamed into place, so an overwritten
// symlink is replaced rather than followed and no half-written file is ever at dst. It gets
// mode exactly and src's modification time.
func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".slipway-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chtimes(tmp.Name(), fi.ModTime(), fi.ModTime()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	ok = true
	return nil
}
