package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// UnpackFileStaged unpacks the archive file at path like UnpackFile, but
// all or nothing: it unpacks into a fresh staging folder beside dest (on
// the same file system) and renames it to dest only when every entry was
// written and every check passed. On any error (a refused entry, a limit,
// a damaged archive, a full disk) the staging folder is removed entirely
// and dest is left as it was. dest must not exist; its parent must. dest
// gets mode 0755, as the folder unpacked into always had.
func UnpackFileStaged(path, dest string, lim Limits) (err error) {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("unpack bundle: %s already exists; remove it first", dest)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unpack bundle: %w", err)
	}
	staging, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".unpacking-*")
	if err != nil {
		return fmt.Errorf("unpack bundle: create staging folder: %w", err)
	}
	defer func() {
		if err != nil {
			if rerr := RemoveTree(staging); rerr != nil {
				err = errors.Join(err, fmt.Errorf("remove the partial unpack %s: %w", staging, rerr))
			}
		}
	}()
	if err := UnpackFile(path, staging, lim); err != nil {
		return err
	}
	if err := os.Chmod(staging, 0o755); err != nil {
		return fmt.Errorf("unpack bundle: %w", err)
	}
	if err := os.Rename(staging, dest); err != nil {
		return fmt.Errorf("unpack bundle: %w", err)
	}
	return nil
}

// RemoveTree removes p and everything below it, first making its folders
// writable if a plain os.RemoveAll fails (an unpacked folder may be
// read-only, which stops a process that is not root from emptying it).
func RemoveTree(p string) error {
	if os.RemoveAll(p) == nil {
		return nil
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
