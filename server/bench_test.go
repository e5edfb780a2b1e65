package server_test

import (
	"fmt"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/server/core/config"
)

// BenchmarkRaftApply measures committed commands per second on a 3-node loopback cluster: each
// op is one app.create proposed on the leader, acknowledged once a quorum has it and the leader
// applied it. Run with: go test -run '^$' -bench RaftApply -benchtime 5s ./server/
func BenchmarkRaftApply(b *testing.B) {
	for _, batching := range []bool{true, false} {
		for _, writers := range []int{1, 16, 256, 1024} {
			b.Run(fmt.Sprintf("batching=%v/writers=%d", batching, writers), func(b *testing.B) {
				benchApply(b, batching, writers)
			})
		}
	}
}

func benchApply(b *testing.B, batching bool, writers int) {
	c := testutil.NewCluster(b, 3, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.Raft = config.Raft{DisableBatching: !batching} // production timings
	}})
	benchCommits(b, c, writers)
}
