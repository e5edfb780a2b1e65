package fsm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
)

var benchCaller = &command.Caller{Kind: "user", ID: "u-0123456789", Name: "alice", Action: "deploy:CreateDeployment",
	Resource: "app/shop/group/prod", Source: "10.0.0.7:51234", RequestID: "6f1c2b9e-4d3a-4c8e-9b1f-2a7d5e3c9f10"}

// benchApply applies small commands (noops: the FSM's own work, the request record and the
// state transaction, with no handler cost), perEntry of them per log entry (1: one transaction
// per command, as on an idle cluster; 64: a batch, as the leader's batcher makes under load),
// with or without a caller: the difference is what the audit record adds to an audited write's
// apply. ns/op is per command.
func benchApply(b *testing.B, perEntry int, caller *command.Caller) {
	f := newFSM(b)
	var index, n uint64
	next := func() []byte {
		n++
		c, _ := command.NoopCmd.New(fmt.Sprintf("rid-%d", n), time.Unix(1700000000, int64(n)), command.Noop{})
		c.Caller = caller
		data, err := command.Encode(c)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	b.ReportAllocs()
	for b.Loop() {
		index++
		data := next()
		if perEntry > 1 {
			parts := [][]byte{data}
			for len(parts) < perEntry {
				parts = append(parts, next())
			}
			var err error
			if data, err = command.EncodeBatch(parts); err != nil {
				b.Fatal(err)
			}
		}
		f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/command")
}

// BenchmarkApplyWithoutCaller applies small commands that are not audited, one per entry.
func BenchmarkApplyWithoutCaller(b *testing.B) { benchApply(b, 1, nil) }

// BenchmarkApplyWithCaller applies the same commands carrying a caller: one audit record each
// (resume the chain, bound, hash, encode, store) in the same transaction.
func BenchmarkApplyWithCaller(b *testing.B) { benchApply(b, 1, benchCaller) }

// BenchmarkApplyBatchWithoutCaller: 64 unaudited commands per entry.
func BenchmarkApplyBatchWithoutCaller(b *testing.B) { benchApply(b, 64, nil) }

// BenchmarkApplyBatchWithCaller: 64 audited commands per entry.
func BenchmarkApplyBatchWithCaller(b *testing.B) { benchApply(b, 64, benchCaller) }
