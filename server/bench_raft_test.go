package server_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/deploy"
)

// BenchmarkRaftApplyTLS compares committed commands per second on a 3-node loopback cluster
// with mutual TLS on the cluster port against the same cluster in plaintext, side by side for
// each number of writers (production Raft timings, batching on, commands proposed on the
// leader as in BenchmarkRaftApply). Run both in one invocation:
//
//	go test -run '^$' -bench RaftApplyTLS -benchtime 3s ./server/
func BenchmarkRaftApplyTLS(b *testing.B) {
	for _, writers := range []int{1, 16, 256} {
		for _, tls := range []bool{false, true} {
			b.Run(fmt.Sprintf("writers=%d/tls=%v", writers, tls), func(b *testing.B) {
				c := testutil.NewCluster(b, 3, testutil.Options{TLS: tls, Tweak: func(_ int, cfg *config.Config) {
					cfg.Raft = config.Raft{} // production timings
				}})
				benchCommits(b, c, writers)
			})
		}
	}
}

// benchCommits proposes b.N app.create commands on c's leader from writers goroutines and
// reports commands per second.
func benchCommits(b *testing.B, c *testutil.Cluster, writers int) {
	node := c.Server(c.WaitLeader()).Node()
	ctx := context.Background()
	var seq atomic.Int64
	benchWriters(b, writers, "commands", func() error {
		cmd, _ := deploy.CmdAppCreate.New("", time.Now(), deploy.AppCreatePayload{Name: fmt.Sprintf("bench-%d", seq.Add(1))})
		res, err := node.Apply(ctx, cmd)
		if err == nil {
			err = res.Err()
		}
		return err
	})
}

// benchWriters runs op b.N times in all from writers goroutines, fails the benchmark when any
// op failed (naming them what), and reports ops per second as cmds/s.
func benchWriters(b *testing.B, writers int, what string, op func() error) {
	per := (b.N + writers - 1) / writers
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if op() != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d %s failed", f, what)
	}
	b.ReportMetric(float64(per*writers)/elapsed.Seconds(), "cmds/s")
}

// BenchmarkBareRaft is the reference for BenchmarkRaftApply: the same hashicorp/raft, log store
// and TCP transport on the same machine, with a state machine that only counts entries. It is
// the most any Raft-based store can commit here; the ratio of the two is Slipway's own cost
// (encoding, forwarding, batching, dedup, bbolt state).
func BenchmarkBareRaft(b *testing.B) {
	for _, writers := range []int{1, 16, 256, 1024} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchBareRaft(b, writers) })
	}
}

type countFSM struct{ n atomic.Uint64 }

func (f *countFSM) Apply(*raft.Log) any                 { f.n.Add(1); return nil }
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, fmt.Errorf("not used") }
func (f *countFSM) Restore(io.ReadCloser) error         { return nil }

func benchBareRaft(b *testing.B, writers int) {
	dir := b.TempDir()
	var nodes []*raft.Raft
	var conf raft.Configuration
	var transports []*raft.NetworkTransport
	for i := 0; i < 3; i++ {
		tr, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, 10*time.Second, hclog.NewNullLogger())
		if err != nil {
			b.Fatal(err)
		}
		transports = append(transports, tr)
		conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(fmt.Sprint(i)), Address: tr.LocalAddr()})
	}
	for i := 0; i < 3; i++ {
		d := filepath.Join(dir, fmt.Sprint(i))
		store, err := raftboltdb.New(raftboltdb.Options{Path: d + "-raft.db"})
		if err != nil {
			b.Fatal(err)
		}
		snaps, err := raft.NewFileSnapshotStoreWithLogger(d, 2, hclog.NewNullLogger())
		if err != nil {
			b.Fatal(err)
		}
		rc := raft.DefaultConfig()
		rc.LocalID = conf.Servers[i].ID
		rc.Logger = hclog.NewNullLogger()
		rc.BatchApplyCh = true
		rc.MaxAppendEntries = 256
		rc.SnapshotThreshold = 1 << 30
		r, err := raft.NewRaft(rc, &countFSM{}, store, store, snaps, transports[i])
		if err != nil {
			b.Fatal(err)
		}
		if err := r.BootstrapCluster(conf).Error(); err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, r)
		b.Cleanup(func() { _ = r.Shutdown().Error(); _ = store.Close() })
	}
	var leader *raft.Raft
	deadline := time.Now().Add(20 * time.Second)
	for leader == nil && time.Now().Before(deadline) {
		for _, r := range nodes {
			if r.State() == raft.Leader {
				leader = r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if leader == nil {
		b.Fatal("no leader")
	}
	payload := make([]byte, 64)
	benchWriters(b, writers, "applies", func() error { return leader.Apply(payload, 10*time.Second).Error() })
}
