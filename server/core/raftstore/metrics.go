package raftstore

import (
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	apply     *prometheus.HistogramVec
	forwarded prometheus.Counter
	batchSize prometheus.Histogram
}

func newMetrics(n *Node, reg prometheus.Registerer) *metrics {
	m := &metrics{
		apply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "slipway_raft_apply_seconds", Help: "Time from proposing a command on this node to its result.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"outcome"}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slipway_raft_forwarded_total", Help: "Commands this node forwarded to the leader.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "slipway_raft_batch_commands", Help: "Commands per Raft log entry proposed by this node as leader.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13),
		}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.apply, m.forwarded, m.batchSize,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "slipway_raft_leader", Help: "1 when this node is the Raft leader."}, func() float64 {
			if n.raft.State() == raft.Leader {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "slipway_raft_commit_index", Help: "Raft commit index."}, func() float64 {
			return float64(n.raft.CommitIndex())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "slipway_raft_applied_index", Help: "Index of the last entry applied to the state."}, func() float64 {
			return float64(n.fsm.AppliedIndex())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "slipway_raft_last_contact_seconds", Help: "Seconds since this follower last heard from the leader (0 on the leader)."}, func() float64 {
			if n.raft.State() == raft.Leader {
				return 0
			}
			return time.Since(n.raft.LastContact()).Seconds()
		}),
	)
	return m
}

func (m *metrics) observeApply(start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.apply.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}
