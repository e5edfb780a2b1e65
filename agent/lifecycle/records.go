package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipwayhq/slipway/appspec"
)

// writeFileSync replaces path with data atomically and durably: a temporary file in the same
// folder is written and fsynced, renamed over path, and the folder is fsynced.
func writeFileSync(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeSync deletes path (absent is fine) and fsyncs its folder.
func removeSync(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// lastSuccessful returns the deployment folder of the last successful install of the group,
// "" when there is none. The recorded path must be a deployment folder of this group, so a
// record can never point scripts of another group or another place.
func (r *Runner) lastSuccessful(groupID string) (string, error) {
	b, err := os.ReadFile(r.lastSuccessfulFile(groupID))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read last successful install record: %w", err)
	}
	dir := filepath.Clean(strings.TrimSpace(string(b)))
	if dir == "." {
		return "", nil
	}
	if filepath.Dir(dir) != r.groupDir(groupID) {
		return "", fmt.Errorf("last successful install record %s names %s, which is not a deployment folder of group %s", r.lastSuccessfulFile(groupID), dir, groupID)
	}
	return dir, nil
}

// previousCleanup returns the cleanup record of the group's previous install (nil if none).
func (r *Runner) previousCleanup(groupID string) ([]string, error) {
	b, err := os.ReadFile(r.cleanupFile(groupID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cleanup record: %w", err)
	}
	paths, err := appspec.ParseCleanup(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.cleanupFile(groupID), err)
	}
	return paths, nil
}
