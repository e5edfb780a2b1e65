package lifecycle

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// prune keeps at most Config.MaxRevisions deployment folders of a group, newest first by
// start time, never deleting the group's last successful install or the deployment that just
// ran (so there can be one more than MaxRevisions when both are old ones) nor one that is
// marked in flight.
func (r *Runner) prune(groupID, current string) error {
	entries, err := os.ReadDir(r.groupDir(groupID))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	last, _ := r.lastSuccessful(groupID)
	keep := map[string]bool{current: true}
	if last != "" {
		keep[filepath.Base(last)] = true
	}
	type dep struct {
		name    string
		started time.Time
	}
	var deps []dep
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		var in info
		b, err := os.ReadFile(filepath.Join(r.groupDir(groupID), e.Name(), infoName))
		if err != nil || json.Unmarshal(b, &in) != nil {
			if fi, err := e.Info(); err == nil {
				in.Started = fi.ModTime()
			}
		}
		deps = append(deps, dep{e.Name(), in.Started})
	}
	sort.Slice(deps, func(i, j int) bool {
		if !deps[i].started.Equal(deps[j].started) {
			return deps[i].started.After(deps[j].started)
		}
		return deps[i].name > deps[j].name
	})
	for _, d := range deps {
		if len(keep) >= r.cfg.MaxRevisions {
			break
		}
		keep[d.name] = true
	}
	var errs []error
	for _, d := range deps {
		if keep[d.name] {
			continue
		}
		if _, err := os.Stat(r.markerFile(d.name)); err == nil {
			continue
		}
		if err := os.RemoveAll(filepath.Join(r.groupDir(groupID), d.name)); err != nil {
			errs = append(errs, err)
		} else {
			r.log.Info("removed old deployment folder", "group", groupID, "deployment", d.name)
		}
	}
	return errors.Join(errs...)
}
