package raftstore

import (
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"

	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// Config configures a Node.
type Config struct {
	NodeID  string // required; persisted in the data dir and checked on every start
	DataDir string // holds node.json, raft/ and state/

	// Commands is every command the state machine applies, and Buckets the state buckets the
	// services declared: both come from the server's registration of services (required).
	Commands *fsm.Table
	Buckets  [][]byte
	// Indexes are the derived buckets among Buckets, built when the state creates them
	// (state.Index).
	Indexes []state.Index

	// Listener is the bound Raft port (the caller binds it so that port 0 works in tests).
	Listener net.Listener
	// Advertise is the host:port other servers dial for Raft and RPC.
	Advertise string
	// HTTPAddr is this node's advertised HTTP base URL, shared with the cluster.
	HTTPAddr string

	// BootstrapExpect is how many servers form the first configuration together; 1 bootstraps
	// a single-node cluster at once. 0 means join an existing cluster through Join.
	BootstrapExpect int
	// Join lists other servers' Raft addresses, tried until one leads us into the cluster.
	Join []string

	// Batching groups commands that arrive together at the leader into one log entry.
	Batching bool
	// ApplyTimeout bounds a single proposal on the leader.
	ApplyTimeout time.Duration

	// Raft timings. Zero values take hashicorp/raft's defaults.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64

	Logger   *slog.Logger
	Registry prometheus.Registerer // may be nil

	// TLS, when set, turns on mutual TLS on the Raft port: every connection, in and out, starts
	// with a handshake in which both ends present a server certificate of the cluster CA.
	TLS *tlsutil.Cluster
}

func (c *Config) setDefaults() {
	if c.ApplyTimeout == 0 {
		c.ApplyTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
