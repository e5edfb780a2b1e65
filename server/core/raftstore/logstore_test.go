package raftstore

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/raft"
)

type failingLogStore struct {
	raft.LogStore
	err error
}

func (f failingLogStore) StoreLogs([]*raft.Log) error { return f.err }
func (f failingLogStore) StoreLog(*raft.Log) error    { return f.err }

// TestFullDiskStopsTheServer: an append that fails for a full disk stops the server (so that a
// leader with a longer log cannot keep winning elections it cannot serve); other errors are
// returned to Raft as before.
func TestFullDiskStopsTheServer(t *testing.T) {
	other := fmt.Errorf("write raft.db: %w", syscall.EIO)
	if err := (fullDiskStopsLogStore{failingLogStore{err: other}}).StoreLogs(nil); !errors.Is(err, other) {
		t.Fatalf("an I/O error: %v, want it returned", err)
	}
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "data disk is full") {
			t.Fatalf("a full disk: recovered %q, want a panic saying the disk is full", msg)
		}
	}()
	_ = (fullDiskStopsLogStore{failingLogStore{err: fmt.Errorf("write raft.db: %w", syscall.ENOSPC)}}).StoreLogs(nil)
	t.Fatal("a full disk did not stop the server")
}
