// Package raftstore runs a node's Raft member: hashicorp/raft over raft-boltdb/v2 (log and stable
// store), a file snapshot store keeping two snapshots, and a TCP transport shared with the
// node-to-node RPCs (see mux.go). It owns cluster formation (bootstrap-expect and join), write
// forwarding to the leader, command batching, linearizable read indexes and the node's identity.
//
// Write path: Apply encodes a command with a request ID, proposes it if this node leads or
// forwards it to the leader otherwise, and retries with the same request ID across leader changes
// until ctx ends; the FSM applies a request ID once, so a retry never applies a command twice.
package raftstore

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

// ErrDataDir reports a data dir that belongs to another node or cluster.
var ErrDataDir = errors.New("data dir mismatch")

// Node is one Raft member with its state.
type Node struct {
	cfg      Config
	raft     *raft.Raft
	fsm      *fsm.FSM
	store    *state.Store
	trans    *raft.NetworkTransport
	mux      *mux
	logStore *raftboltdb.BoltStore
	pool     *pool
	dialer   dialer
	batchCh  chan *pending
	metrics  *metrics
	contacts contacts // when each peer last answered this server's probe (contact.go)
	announce *announcingTransport

	idMu sync.Mutex
	id   identity

	readyReads atomic.Bool
	onLeader   []func(ctx context.Context)
	stop       chan struct{}
	stopOnce   sync.Once
	wg         sync.WaitGroup
}

// Open starts the node: it checks the data dir's identity, rebuilds the state from Raft's
// snapshot and log, starts Raft and, on a fresh data dir, bootstraps or joins in the background.
// onLeader functions run each time this node gains leadership, with a context that ends when it
// loses it.
func Open(cfg Config, onLeader ...func(ctx context.Context)) (*Node, error) {
	cfg.setDefaults()
	log := cfg.Logger
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "raft"), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	id, found, err := readIdentity(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	switch {
	case found && cfg.NodeID != "" && cfg.NodeID != id.NodeID:
		return nil, fmt.Errorf("%w: %s belongs to node %q, not %q: start with --node-id %s, or give this node an empty --data-dir",
			ErrDataDir, cfg.DataDir, id.NodeID, cfg.NodeID, id.NodeID)
	case !found && cfg.NodeID == "":
		id.NodeID = newID()
	case !found:
		id.NodeID = cfg.NodeID
	}
	cfg.NodeID = id.NodeID

	logStore, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, "raft", "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("open raft log: %w", err)
	}
	var d dialer
	var acceptTLS *tls.Config
	if cfg.TLS != nil {
		d.tlsCfg, acceptTLS = cfg.TLS.PeerClientConfig(), cfg.TLS.PeerServerConfig()
	}
	n := &Node{cfg: cfg, logStore: logStore, id: id, stop: make(chan struct{}), onLeader: onLeader, dialer: d,
		pool: &pool{clients: map[string]*peerConn{}, timeout: 2 * time.Second, dialer: d}, batchCh: make(chan *pending, 1024)}
	ok := false
	defer func() {
		if !ok {
			n.closeResources()
		}
	}()
	hlog := newHCLogger("raft", log)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(cfg.DataDir, "raft"), 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	cache, err := raft.NewLogCache(512, fullDiskStopsLogStore{logStore})
	if err != nil {
		return nil, err
	}

	hasState, err := raft.HasExistingState(cache, logStore, snaps)
	if err != nil {
		return nil, fmt.Errorf("read raft state: %w", err)
	}
	if hasState && !found {
		return nil, fmt.Errorf("%w: %s has Raft data but no %s, so its owner is unknown: restore the file or use an empty --data-dir", ErrDataDir, cfg.DataDir, identityFile)
	}
	if !found {
		if err := writeIdentity(cfg.DataDir, id); err != nil {
			return nil, err
		}
	}
	if hasState && len(cfg.Join) > 0 {
		if err := n.checkJoinPeers(); err != nil {
			return nil, err
		}
	}

	if cfg.Commands == nil {
		return nil, errors.New("raftstore: no command table (Config.Commands)")
	}
	n.store, err = state.OpenIndexed(filepath.Join(cfg.DataDir, "state", "state.db"), cfg.Buckets, cfg.Indexes)
	if err != nil {
		return nil, err
	}
	n.fsm = fsm.New(n.store, cfg.Commands, log.With("component", "fsm"))

	adv, err := net.ResolveTCPAddr("tcp", cfg.Advertise)
	if err != nil {
		return nil, fmt.Errorf("advertise address %q: %w", cfg.Advertise, err)
	}
	rpcSrv := rpc.NewServer()
	if err := rpcSrv.Register(&Cluster{n: n}); err != nil {
		return nil, err
	}
	n.mux = newMux(cfg.Listener, adv, log.With("component", "mux"), serveRPC(rpcSrv), acceptTLS)
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: streamLayer{m: n.mux, d: d}, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
	})

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(id.NodeID)
	rc.Logger = hlog
	notify := make(chan bool, 16)
	rc.NotifyCh = notify
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 256
	setIf(&rc.HeartbeatTimeout, cfg.HeartbeatTimeout)
	setIf(&rc.ElectionTimeout, cfg.ElectionTimeout)
	setIf(&rc.LeaderLeaseTimeout, cfg.LeaderLeaseTimeout)
	// Followers learn of a commit on the leader's next AppendEntries: the leader announces each
	// commit at once (announce.go); this timer is the fallback (hashicorp/raft's default is
	// 50 ms).
	rc.CommitTimeout = 10 * time.Millisecond
	setIf(&rc.CommitTimeout, cfg.CommitTimeout)
	setIf(&rc.SnapshotInterval, cfg.SnapshotInterval)
	setIf(&rc.SnapshotThreshold, cfg.SnapshotThreshold)
	setIf(&rc.TrailingLogs, cfg.TrailingLogs)
	n.announce = newAnnouncingTransport(n.trans)
	n.raft, err = raft.NewRaft(rc, announcingFSM{n.fsm, n}, cache, logStore, snaps, n.announce)
	if err != nil {
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n.metrics = newMetrics(n, cfg.Registry)
	ok = true

	n.goLoop(n.mux.serve)
	n.goLoop(func() { n.leaderLoop(notify) })
	n.goLoop(n.batchLoop)
	n.goLoop(n.registerLoop)
	n.goLoop(n.contactLoop)
	if !hasState {
		n.goLoop(n.formCluster)
	}
	log.Info("raft started", "node_id", id.NodeID, "raft_addr", cfg.Advertise, "existing_state", hasState)
	return n, nil
}

func setIf[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

func (n *Node) goLoop(f func()) {
	n.wg.Add(1)
	go func() { defer n.wg.Done(); f() }()
}

// ID returns the node's ID.
func (n *Node) ID() string { return n.cfg.NodeID }

// FSM returns the state machine (for reads of the applied state).
func (n *Node) FSM() *fsm.FSM { return n.fsm }

// State returns the state store.
func (n *Node) State() *state.Store { return n.store }

// Raft exposes the raft instance for status endpoints and tests.
func (n *Node) Raft() *raft.Raft { return n.raft }

// IsLeader reports whether this node currently leads.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Apply replicates c and returns its result once it is committed and applied. It is safe to
// call on any node; see the package doc for forwarding and retries. A command that failed
// validation in the FSM is a successful Apply whose Result carries the failure. A command
// without a Caller takes the one ctx carries (command.WithCaller): the request it serves is then
// audited when it is applied; the encoded bytes, forwarded to the leader as they are, carry it.
func (n *Node) Apply(ctx context.Context, c *command.Command) (command.Result, error) {
	if c.RequestID == "" {
		c.RequestID = newID()
	}
	if c.Caller == nil {
		c.Caller = command.CallerFrom(ctx)
	}
	data, err := command.Encode(c)
	if err != nil {
		return command.Result{}, fault.New(fault.Invalid, "%v", err)
	}
	start := time.Now()
	res, err := n.applyRetry(ctx, data)
	n.metrics.observeApply(start, err)
	return res, err
}

// forwardAttemptTimeout bounds one forward of a command to the leader. A forward that times out
// is sent again, to whoever leads then, with the same request ID, so it applies at most once;
// the bound is far above a healthy commit's latency and well below a client's patience.
const forwardAttemptTimeout = 3 * time.Second

func (n *Node) applyRetry(ctx context.Context, data []byte) (command.Result, error) {
	backoff := 5 * time.Millisecond
	sawLeader := false
	for {
		var (
			res command.Result
			err error
		)
		switch addr, _ := n.raft.LeaderWithID(); {
		case n.isStopped():
			return res, fault.New(fault.Unavailable, "this server is shutting down: retry on another server")
		case n.raft.State() == raft.Leader:
			sawLeader = true
			res, err = n.applyLocal(ctx, data)
		case addr != "":
			sawLeader = true
			var reply ApplyReply
			// Each forward has its own bound: a leader cut off mid-call never answers, and the
			// retry must go to the leader elected meanwhile rather than wait out the request.
			actx, cancel := context.WithTimeout(ctx, forwardAttemptTimeout)
			err = n.pool.call(actx, string(addr), "Apply", ApplyArgs{Data: data}, &reply)
			cancel()
			if err == nil && reply.NotLeader {
				err = raft.ErrNotLeader
			}
			res = reply.Result
			n.metrics.forwarded.Inc()
		default:
			err = raft.ErrNotLeader
		}
		if err == nil {
			return res, nil
		}
		var fe *fault.Error
		if errors.As(err, &fe) {
			return res, err
		}
		if ctx.Err() != nil {
			if sawLeader {
				return res, fault.New(fault.Timeout, "the cluster did not confirm the write in time; it may still be applied: retry with the same Idempotency-Key")
			}
			return res, fault.New(fault.NoLeader, "the cluster has no leader: check that a majority of servers are up (slipway operator raft list-peers), then retry")
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		case <-n.stop:
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}

// pending is a command waiting for the batcher.
type pending struct {
	data []byte
	done chan applied
}

type applied struct {
	res command.Result
	err error
}

// applyLocal proposes data on this node, which must lead. Errors are raft's, so callers can tell
// "not leader" (retry elsewhere) from everything else.
func (n *Node) applyLocal(ctx context.Context, data []byte) (command.Result, error) {
	if !n.cfg.Batching {
		f := n.raft.Apply(data, n.cfg.ApplyTimeout)
		if err := f.Error(); err != nil {
			return command.Result{}, err
		}
		res, _ := f.Response().(command.Result)
		return res, nil
	}
	p := &pending{data: data, done: make(chan applied, 1)}
	select {
	case n.batchCh <- p:
	case <-ctx.Done():
		return command.Result{}, ctx.Err()
	case <-n.stop:
		return command.Result{}, raft.ErrRaftShutdown
	}
	select {
	case a := <-p.done:
		return a.res, a.err
	case <-ctx.Done():
		return command.Result{}, ctx.Err()
	}
}

const (
	maxBatchBytes = 1 << 20
	// maxInflight bounds the batches proposed but not yet applied. While all slots are busy,
	// commands queue, and the next batch takes all of them: the busier the leader, the bigger
	// its log entries, with no timer adding latency when it is idle.
	maxInflight = 4
)

// batchLoop groups the commands waiting at the leader into one log entry. It never waits for
// more to arrive: under load, commands queue while earlier entries are being written, and the
// next entry takes all of them.
func (n *Node) batchLoop() {
	slots := make(chan struct{}, maxInflight)
	var carry *pending
	for {
		select {
		case slots <- struct{}{}:
		case <-n.stop:
			return
		}
		batch := make([]*pending, 0, 64)
		if carry != nil {
			batch, carry = append(batch, carry), nil
		} else {
			select {
			case p := <-n.batchCh:
				batch = append(batch, p)
			case <-n.stop:
				return
			}
		}
		size := len(batch[0].data)
	drain:
		for len(batch) < command.MaxBatchLen {
			select {
			case p := <-n.batchCh:
				if size+len(p.data) > maxBatchBytes {
					carry = p
					break drain
				}
				size += len(p.data)
				batch = append(batch, p)
			default:
				break drain
			}
		}
		n.proposeBatch(batch, func() { <-slots })
	}
}

// proposeBatch proposes one log entry for batch and answers every command when it is applied;
// release is called once the entry is done with.
func (n *Node) proposeBatch(batch []*pending, release func()) {
	n.metrics.batchSize.Observe(float64(len(batch)))
	data := batch[0].data
	if len(batch) > 1 {
		parts := make([][]byte, len(batch))
		for i, p := range batch {
			parts[i] = p.data
		}
		var err error
		if data, err = command.EncodeBatch(parts); err != nil {
			release()
			for _, p := range batch {
				p.done <- applied{err: fault.New(fault.Internal, "encode batch: %v", err)}
			}
			return
		}
	}
	f := n.raft.Apply(data, n.cfg.ApplyTimeout)
	go func() {
		err := f.Error()
		release()
		if err != nil {
			for _, p := range batch {
				p.done <- applied{err: err}
			}
			return
		}
		switch r := f.Response().(type) {
		case []command.Result:
			for i, p := range batch {
				if i < len(r) {
					p.done <- applied{res: r[i]}
				} else {
					p.done <- applied{err: fault.New(fault.Internal, "batch answered %d of %d commands", len(r), len(batch))}
				}
			}
		case command.Result:
			batch[0].done <- applied{res: r}
		default:
			for _, p := range batch {
				p.done <- applied{err: fault.New(fault.Internal, "unexpected apply response %T", r)}
			}
		}
	}()
}

// ConsistentRead returns once this node's state reflects every write acknowledged before the
// call, so that a read that follows is linearizable. A follower asks the leader for its read
// index (the leader first confirms it still leads) and waits to apply up to it.
func (n *Node) ConsistentRead(ctx context.Context) error {
	backoff := 5 * time.Millisecond
	for {
		var (
			idx uint64
			err error
		)
		addr, _ := n.raft.LeaderWithID()
		switch {
		case n.raft.State() == raft.Leader:
			idx, err = n.leaderReadIndex()
		case addr != "":
			var reply ReadIndexReply
			err = n.pool.call(ctx, string(addr), "ReadIndex", ReadIndexArgs{}, &reply)
			if err == nil && reply.NotLeader {
				err = raft.ErrNotLeader
			}
			idx = reply.Index
		default:
			err = raft.ErrNotLeader
		}
		if err == nil {
			return n.fsm.WaitApplied(ctx, idx)
		}
		if ctx.Err() != nil {
			return fault.New(fault.NoLeader, "no leader confirmed the read in time: check that a majority of servers are up, then retry")
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}

func (n *Node) leaderReadIndex() (uint64, error) {
	if n.raft.State() != raft.Leader || !n.readyReads.Load() {
		return 0, raft.ErrNotLeader
	}
	// Every write acknowledged before this point has been applied here, on the leader, before it
	// was acknowledged; so once leadership is confirmed, the leader's applied index covers them.
	// (The commit index would not do: it may point at a Raft-internal entry that never reaches
	// the state machine, which a follower could then wait for in vain.)
	idx := n.fsm.AppliedIndex()
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return 0, raft.ErrNotLeader
	}
	return idx, nil
}

// leaderLoop follows leadership changes: on gaining it, it waits for a barrier (so the state
// reflects every earlier entry), enables consistent reads and runs the cluster's leader duties
// until leadership is lost.
func (n *Node) leaderLoop(notify <-chan bool) {
	stopLeading := func() {}
	defer func() { stopLeading() }()
	for {
		select {
		case isLeader := <-notify:
			stopLeading()
			stopLeading = func() {}
			n.readyReads.Store(false)
			if isLeader {
				ctx, cancel := context.WithCancel(context.Background())
				stopLeading = cancel
				go n.leadWith(ctx)
			}
		case <-n.stop:
			return
		}
	}
}

func (n *Node) leadWith(ctx context.Context) {
	for ctx.Err() == nil {
		if err := n.raft.Barrier(n.cfg.ApplyTimeout).Error(); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	if ctx.Err() != nil {
		return
	}
	n.readyReads.Store(true)
	n.cfg.Logger.Info("leadership established", "node_id", n.cfg.NodeID)
	n.initCluster(ctx)
	for _, f := range n.onLeader {
		go f(ctx)
	}
}

// initCluster gives a brand-new cluster its identity.
func (n *Node) initCluster(ctx context.Context) {
	var cur string
	_ = n.store.View(func(tx *state.Tx) error { cur = tx.ClusterID(); return nil })
	if cur != "" {
		return
	}
	c, _ := command.New(command.TypeClusterInit, "", time.Now(), command.ClusterInit{ClusterID: newID()})
	if res, err := n.Apply(ctx, c); err != nil || (res.Err() != nil && !errors.Is(res.Err(), fault.ErrConflict)) {
		n.cfg.Logger.Warn("could not set the cluster id; the next leader will", "error", errors.Join(err, res.Err()))
	}
}

func (n *Node) isStopped() bool {
	select {
	case <-n.stop:
		return true
	default:
		return false
	}
}

// Shutdown stops the node. With transfer set and this node leading a cluster of several voters,
// it first hands leadership to another voter, so the cluster does not wait an election timeout.
func (n *Node) Shutdown(transfer bool) error {
	if transfer && n.raft.State() == raft.Leader && n.voters() > 1 {
		if err := n.raft.LeadershipTransfer().Error(); err != nil {
			n.cfg.Logger.Warn("leadership transfer failed; shutting down anyway", "error", err)
		} else {
			n.cfg.Logger.Info("leadership transferred before shutdown")
		}
	}
	n.stopOnce.Do(func() { close(n.stop) })
	err := n.raft.Shutdown().Error()
	n.closeResources()
	n.wg.Wait()
	return err
}

func (n *Node) closeResources() {
	if n.trans != nil {
		_ = n.trans.Close()
	}
	if n.mux != nil {
		_ = n.mux.close()
		if !n.mux.waitRaft(10 * time.Second) {
			n.cfg.Logger.Warn("a Raft connection handler did not finish within 10s of shutdown; closing the stores anyway")
		}
	} else if n.cfg.Listener != nil {
		_ = n.cfg.Listener.Close()
	}
	n.pool.closeAll()
	if n.logStore != nil {
		_ = n.logStore.Close()
	}
	if n.store != nil {
		_ = n.store.Close()
	}
}

func (n *Node) voters() int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	v := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			v++
		}
	}
	return v
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// HandleProtocol serves connections to the Raft port whose first byte is b (other than Raft's
// and the RPCs') with h, which owns the connection. It is how the blob store moves bytes between
// servers on the port that already connects them.
func (n *Node) HandleProtocol(b byte, h func(net.Conn)) {
	if b == protoRaft || b == protoRPC {
		panic("raftstore: protocol byte already in use")
	}
	n.mux.handle(b, h)
}

// DialPeer opens a connection to another server's Raft port for protocol b (see HandleProtocol):
// over mutual TLS when the cluster has TLS, the protocol byte already sent. ctx bounds the dial
// and the handshake, not the connection's later use.
func (n *Node) DialPeer(ctx context.Context, addr string, b byte) (net.Conn, error) {
	return n.dialer.dial(ctx, addr, b)
}

// Voters returns the ID and Raft address of every voter in the configuration.
func (n *Node) Voters() ([]Server, error) {
	servers, _, err := n.Configuration()
	if err != nil {
		return nil, err
	}
	var out []Server
	for _, s := range servers {
		if s.Voter {
			out = append(out, s)
		}
	}
	return out, nil
}

// AppliedIndex is the index of the last log entry reflected in this node's state.
func (n *Node) AppliedIndex() uint64 { return n.fsm.AppliedIndex() }

// WaitApplied blocks until this node's state reflects index, or ctx ends.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	return n.fsm.WaitApplied(ctx, index)
}
