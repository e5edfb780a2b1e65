package raftstore

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/hashicorp/raft"
)

// fullDiskStopsLogStore is the Raft log store with one rule added: a log append that fails
// because the data disk is full stops the server (a panic, as a failed state transaction does).
//
// hashicorp/raft answers a failed append on the leader by stepping down, but the leader's log is
// then one entry longer than its peers' (the entry it stored, or half stored, and never sent), so
// it wins the next election, fails again and steps down again, over and over: in the test bed a
// full leader kept the cluster without a working leader for 15 s. A stopped server takes no part
// in elections; the others elect a leader at once, and it catches up when started again after
// space is freed. (A follower whose appends fail stops too, instead of serving stale reads.)
type fullDiskStopsLogStore struct {
	raft.LogStore
}

func (s fullDiskStopsLogStore) StoreLog(l *raft.Log) error {
	return stopIfDiskFull(s.LogStore.StoreLog(l))
}

func (s fullDiskStopsLogStore) StoreLogs(logs []*raft.Log) error {
	return stopIfDiskFull(s.LogStore.StoreLogs(logs))
}

func stopIfDiskFull(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		panic(fmt.Sprintf("raft: cannot append to the log, the data disk is full (%v): this server stops so that it does not win elections it cannot serve; free space on the disk and start it again", err))
	}
	return err
}
