package raftstore

import "io"

// ExtractSnapshotState reads a snapshot file as `slipway operator snapshot save` writes it
// (checking its format and SHA256SUMS, as a restore does) and writes its state database into
// dir, returning the database's path: how tools read a backup's state offline (`slipway audit
// verify --state`).
func ExtractSnapshotState(r io.Reader, dir string) (string, error) {
	_, path, err := readBackup(r, dir)
	return path, err
}
