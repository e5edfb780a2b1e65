package raftstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// The node-to-node RPCs ride the Raft port (see mux). With TLS on, only a peer holding a server
// certificate of the cluster reaches them; without it (loopback, or --insecure-plaintext-cluster)
// anyone who can connect to the port can call them, including Apply.

// StatusArgs asks a node who it is.
type StatusArgs struct{}

// StatusReply describes a node as the join and bootstrap logic needs it.
type StatusReply struct {
	NodeID     string
	RaftAddr   string
	HTTPAddr   string
	ClusterID  string
	HasState   bool // the node holds a Raft configuration (it is, or was, in a cluster)
	LeaderID   string
	LeaderAddr string
}

// ApplyArgs carries encoded commands to the leader.
type ApplyArgs struct {
	Data []byte
}

// ApplyReply carries the outcome back. NotLeader means nothing was proposed.
type ApplyReply struct {
	NotLeader bool
	Result    command.Result
}

// ReadIndexArgs asks the leader for a linearizable read index.
type ReadIndexArgs struct{}

// ReadIndexReply is the commit index the leader confirmed it still led at.
type ReadIndexReply struct {
	NotLeader bool
	Index     uint64
}

// JoinArgs asks the leader to add a voter.
type JoinArgs struct {
	NodeID    string
	RaftAddr  string
	ClusterID string
}

// JoinReply reports a join. Message explains a refusal.
type JoinReply struct {
	NotLeader bool
	Refused   string
}

// Cluster is the net/rpc service every node serves.
type Cluster struct{ n *Node }

// Status implements the RPC.
func (c *Cluster) Status(_ StatusArgs, reply *StatusReply) error {
	*reply = c.n.status()
	return nil
}

// Apply implements the RPC: the leader proposes the commands; any other node says NotLeader.
func (c *Cluster) Apply(args ApplyArgs, reply *ApplyReply) error {
	if c.n.raft.State() != raft.Leader {
		reply.NotLeader = true
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.n.cfg.ApplyTimeout)
	defer cancel()
	res, err := c.n.applyLocal(ctx, args.Data)
	if retryOnLeader(err) {
		reply.NotLeader = true
		return nil
	}
	if err != nil {
		return err
	}
	reply.Result = res
	return nil
}

// ReadIndex implements the RPC.
func (c *Cluster) ReadIndex(_ ReadIndexArgs, reply *ReadIndexReply) error {
	idx, err := c.n.leaderReadIndex()
	if errors.Is(err, raft.ErrNotLeader) {
		reply.NotLeader = true
		return nil
	}
	reply.Index = idx
	return err
}

// Join implements the RPC.
func (c *Cluster) Join(args JoinArgs, reply *JoinReply) error {
	if c.n.raft.State() != raft.Leader {
		reply.NotLeader = true
		return nil
	}
	refused, err := c.n.addVoter(args)
	reply.Refused = refused
	return err
}

// pool keeps one multiplexed net/rpc client per peer address. Dialing never holds the pool's
// lock: callers to one address share one dial (and, for a moment after it failed, its error),
// so a peer that went silent — its address swallowing connection attempts rather than refusing
// them — delays only the calls meant for it, never the calls to the new leader.
type pool struct {
	mu      sync.Mutex
	clients map[string]*peerConn
	timeout time.Duration
	dialer  dialer
}

// peerConn is the state of one peer's connection.
type peerConn struct {
	mu       sync.Mutex
	c        *rpc.Client
	dialing  chan struct{} // closed when the dial in progress ends
	err      error         // the last dial's error
	failedAt time.Time
}

const redialAfter = 500 * time.Millisecond

func (p *pool) get(addr string) (*rpc.Client, error) {
	p.mu.Lock()
	pc := p.clients[addr]
	if pc == nil {
		pc = &peerConn{}
		p.clients[addr] = pc
	}
	p.mu.Unlock()

	pc.mu.Lock()
	switch {
	case pc.c != nil:
		c := pc.c
		pc.mu.Unlock()
		return c, nil
	case pc.dialing != nil: // someone is dialing: wait for the outcome
		wait := pc.dialing
		pc.mu.Unlock()
		<-wait
		pc.mu.Lock()
		c, err := pc.c, pc.err
		pc.mu.Unlock()
		if c == nil && err == nil {
			err = fmt.Errorf("dial %s: connection closed", addr)
		}
		return c, err
	case pc.err != nil && time.Since(pc.failedAt) < redialAfter:
		err := pc.err
		pc.mu.Unlock()
		return nil, err
	}
	done := make(chan struct{})
	pc.dialing = done
	pc.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	conn, err := p.dialer.dial(ctx, addr, protoRPC)
	cancel()
	pc.mu.Lock()
	if err == nil {
		pc.c, pc.err = rpc.NewClient(conn), nil
	} else {
		pc.err, pc.failedAt = err, time.Now()
	}
	pc.dialing = nil
	c := pc.c
	pc.mu.Unlock()
	close(done)
	return c, err
}

func (p *pool) drop(addr string, c *rpc.Client) {
	p.mu.Lock()
	pc := p.clients[addr]
	p.mu.Unlock()
	if pc != nil {
		pc.mu.Lock()
		if pc.c == c {
			pc.c = nil
		}
		pc.mu.Unlock()
	}
	_ = c.Close()
}

func (p *pool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, pc := range p.clients {
		pc.mu.Lock()
		if pc.c != nil {
			_ = pc.c.Close()
			pc.c = nil
		}
		pc.mu.Unlock()
		delete(p.clients, a)
	}
}

// call runs one RPC bounded by ctx. A transport failure drops the connection so the next call
// dials again.
func (p *pool) call(ctx context.Context, addr, method string, args, reply any) error {
	c, err := p.get(addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	// The reply is decoded into a value of this call's own and copied to reply once the call is
	// done: a call abandoned when ctx ends is still answered later, and net/rpc would write the
	// answer into reply while the caller reads it (a data race the race detector caught).
	own := reflect.New(reflect.TypeOf(reply).Elem())
	call := c.Go("Cluster."+method, args, own.Interface(), make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		var se rpc.ServerError
		if call.Error != nil && !errors.As(call.Error, &se) {
			p.drop(addr, c)
		}
		if errors.As(call.Error, &se) {
			return fault.New(fault.Internal, "%s on %s: %s", method, addr, string(se))
		}
		if call.Error == nil {
			reflect.ValueOf(reply).Elem().Set(own.Elem())
		}
		return call.Error
	case <-ctx.Done():
		// The connection may be stuck (a peer that went silent): do not hand it to the next
		// call. Calls still running on it fail and are retried by their callers.
		p.drop(addr, c)
		return ctx.Err()
	}
}

func serveRPC(srv *rpc.Server) func(net.Conn) {
	return func(conn net.Conn) { srv.ServeConn(conn) }
}

// retryOnLeader reports whether a proposal error means "try again on whoever leads now". The
// proposal may or may not have been applied; the request ID makes the retry safe.
func retryOnLeader(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrLeadershipTransferInProgress) || errors.Is(err, raft.ErrEnqueueTimeout) ||
		errors.Is(err, raft.ErrRaftShutdown) || errors.Is(err, context.DeadlineExceeded)
}
