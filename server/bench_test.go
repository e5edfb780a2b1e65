package server_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/server/command"
	"github.com/slipwayhq/slipway/server/config"
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
	node := c.Server(c.WaitLeader()).Node()
	ctx := context.Background()
	var seq atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := (b.N + writers - 1) / writers
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				n := seq.Add(1)
				cmd, _ := command.New(command.TypeAppCreate, "", time.Now(), command.AppCreate{Name: fmt.Sprintf("bench-%d", n)})
				res, err := node.Apply(ctx, cmd)
				if err != nil || res.Err() != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d commands failed", f)
	}
	b.ReportMetric(float64(per*writers)/elapsed.Seconds(), "cmds/s")
}
