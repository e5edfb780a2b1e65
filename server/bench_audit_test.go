package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/deploy"
)

// BenchmarkRaftApplyAudited compares committed commands per second on a 3-node loopback cluster
// when every command carries a caller (so the FSM appends an audit record with each) against the
// same commands without one, side by side for each number of writers (production Raft timings,
// batching on, proposed on the leader as in BenchmarkRaftApply):
//
//	go test -run '^$' -bench RaftApplyAudited -benchtime 3s ./server/
func BenchmarkRaftApplyAudited(b *testing.B) {
	for _, writers := range []int{1, 16, 256} {
		for _, audited := range []bool{false, true} {
			b.Run(fmt.Sprintf("writers=%d/audited=%v", writers, audited), func(b *testing.B) {
				c := testutil.NewCluster(b, 3, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
					cfg.Raft = config.Raft{} // production timings
				}})
				node := c.Server(c.WaitLeader()).Node()
				var seq atomic.Int64
				benchWriters(b, writers, "commands", func() error {
					n := seq.Add(1)
					ctx := context.Background()
					if audited {
						ctx = command.WithCaller(ctx, &command.Caller{Kind: "token", ID: "5f0c9a1e-2d4b-4c1a-9a7e-1f2b3c4d5e6f", Name: "ci",
							Action: "deploy:CreateApplication", Resource: fmt.Sprintf("app/bench-%d", n), Source: "127.0.0.1:51234", RequestID: fmt.Sprintf("req-%d", n)})
					}
					cmd, _ := deploy.CmdAppCreate.New("", time.Now(), deploy.AppCreatePayload{Name: fmt.Sprintf("bench-%d", n)})
					res, err := node.Apply(ctx, cmd)
					if err == nil {
						err = res.Err()
					}
					return err
				})
			})
		}
	}
}
