package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/config"
)

// TestFollowersApplyWithoutTheNextEntry: a follower applies a committed entry although no entry
// follows it and the leader's commit timeout (hashicorp/raft's only other way to tell it) is an
// hour: the leader announces its commits (raftstore's announcer), so an agent whose session is
// on a follower gets its work without waiting for the next entry.
func TestFollowersApplyWithoutTheNextEntry(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.Raft.CommitTimeout = time.Hour
		cfg.Raft.SnapshotThreshold = 1 << 20
	}})
	c.WaitNodesRegistered()
	leader, follower := c.Server(c.LeaderIndex()).Node(), c.Server(c.Follower()).Node()
	for i := range 3 {
		cmd, err := command.New(command.TypeNodeRegister, "", time.Now(), command.NodeRegister{
			NodeID: "probe", RaftAddr: "127.0.0.1:1", HTTPAddr: "http://127.0.0.1:2", Version: string(rune('a' + i))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leader.Apply(context.Background(), cmd); err != nil {
			t.Fatal(err)
		}
		idx := leader.AppliedIndex()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = follower.WaitApplied(ctx, idx)
		cancel()
		if err != nil {
			t.Fatalf("entry %d: the follower applied %d of %d: it waits for the next entry", i, follower.AppliedIndex(), idx)
		}
	}
}
