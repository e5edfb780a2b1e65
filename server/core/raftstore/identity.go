package raftstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// identity is what a data dir records about whom it belongs to.
type identity struct {
	NodeID    string `json:"node_id"`
	ClusterID string `json:"cluster_id,omitempty"`
}

const identityFile = "node.json"

func readIdentity(dir string) (identity, bool, error) {
	var id identity
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if errors.Is(err, os.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, fmt.Errorf("read %s: %w", identityFile, err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, false, fmt.Errorf("%s in %s is damaged (%w): restore it or start on an empty --data-dir", identityFile, dir, err)
	}
	if id.NodeID == "" {
		return id, false, fmt.Errorf("%s in %s names no node: restore it or start on an empty --data-dir", identityFile, dir)
	}
	return id, true, nil
}

func writeIdentity(dir string, id identity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, identityFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", identityFile, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", identityFile, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", identityFile, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, identityFile))
}
