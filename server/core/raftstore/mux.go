package raftstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The Raft port carries several protocols; the first byte of a connection (inside TLS when TLS
// is on) says which.
const (
	protoRaft byte = 'R' // hashicorp/raft's network transport
	protoRPC  byte = 'P' // net/rpc: forwarding, read index, join, status
)

// handshakeTimeout bounds a TLS handshake and the protocol byte that follows it, so a
// connection that says nothing holds nothing for long.
const handshakeTimeout = 10 * time.Second

// maxUnrouted bounds the connections still in their handshake or before their protocol byte:
// a few servers need a handful, so a flood from the network is cut off at this many instead of
// holding a goroutine and a TLS state each for handshakeTimeout.
const maxUnrouted = 256

// mux accepts connections on the Raft port and hands each to the protocol named by its first
// byte. With TLS (tlsCfg set) every connection starts with a TLS handshake in which the peer must
// present a server certificate of the cluster (see tlsutil.Cluster.PeerServerConfig); nothing is
// read from a connection before that handshake succeeds.
type mux struct {
	ln       net.Listener
	log      *slog.Logger
	raftCh   chan net.Conn
	rpcConn  func(net.Conn)
	closed   chan struct{}
	once     sync.Once
	advAddr  net.Addr
	tlsCfg   *tls.Config
	refused  rateLimit
	unrouted chan struct{} // a slot per connection not routed yet (maxUnrouted)

	mu    sync.RWMutex
	extra map[byte]func(net.Conn) // protocols other packages serve on this port

	rpcMu  sync.Mutex
	rpcs   map[net.Conn]struct{}  // RPC connections being served, closed with the mux
	rpcEnd bool                   // the mux is closed: new RPC connections are closed at once
	rafts  map[*raftConn]struct{} // Raft connections handed to the transport and not closed by it yet
	raftWG sync.WaitGroup         // one per entry of rafts
}

func newMux(ln net.Listener, adv net.Addr, log *slog.Logger, rpcConn func(net.Conn), tlsCfg *tls.Config) *mux {
	return &mux{ln: ln, log: log, raftCh: make(chan net.Conn, 16), rpcConn: rpcConn, closed: make(chan struct{}), advAddr: adv,
		tlsCfg: tlsCfg, refused: rateLimit{every: 5 * time.Second}, unrouted: make(chan struct{}, maxUnrouted)}
}

func (m *mux) serve() {
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.log.Error("raft listener stopped", "error", err)
			return
		}
		select {
		case m.unrouted <- struct{}{}:
		default:
			if n, ok := m.refused.allow(); ok {
				m.log.Warn("refused a connection on the cluster port: too many connections have not finished their handshake", "remote", conn.RemoteAddr(), "limit", maxUnrouted, "refused_since_last_log", n)
			}
			_ = conn.Close()
			continue
		}
		go m.route(conn)
	}
}

// route runs the handshake and reads the protocol byte, holding one of the maxUnrouted slots
// taken by serve until then, and hands the connection on.
func (m *mux) route(conn net.Conn) {
	routed := false
	release := func() {
		if !routed {
			routed = true
			<-m.unrouted
		}
	}
	defer release()
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	if m.tlsCfg != nil {
		tc := tls.Server(conn, m.tlsCfg)
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			if n, ok := m.refused.allow(); ok {
				m.log.Warn("refused a connection on the cluster port: the TLS handshake failed", "remote", conn.RemoteAddr(), "error", err, "refused_since_last_log", n)
			}
			_ = conn.Close()
			return
		}
		conn = tc
	}
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		_ = conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	release()
	switch b[0] {
	case protoRaft:
		select {
		case m.raftCh <- conn:
		case <-m.closed:
			_ = conn.Close()
		}
	case protoRPC:
		if !m.trackRPC(conn) {
			_ = conn.Close()
			return
		}
		defer m.untrackRPC(conn)
		m.rpcConn(conn)
	default:
		m.mu.RLock()
		h := m.extra[b[0]]
		m.mu.RUnlock()
		if h != nil {
			h(conn)
			return
		}
		m.log.Warn("closing connection with an unknown protocol byte", "remote", conn.RemoteAddr(), "byte", b[0])
		_ = conn.Close()
	}
}

// close stops accepting connections and closes the RPC connections being served: a stopped
// server answers nothing more (peers' probes and forwarded calls fail as they would had its
// process died), even on a connection opened before.
func (m *mux) close() error {
	var err error
	m.once.Do(func() {
		close(m.closed)
		err = m.ln.Close()
		m.rpcMu.Lock()
		m.rpcEnd = true
		for c := range m.rpcs {
			_ = c.Close()
		}
		for c := range m.rafts {
			_ = c.Conn.Close() // the transport's handler sees the error, then closes it itself (done)
		}
		m.rpcMu.Unlock()
		for drained := false; !drained; {
			select {
			case c := <-m.raftCh: // routed, never accepted
				_ = c.Close()
			default:
				drained = true
			}
		}
	})
	return err
}

// waitRaft waits, at most limit, until the Raft transport has finished with every inbound
// connection the mux handed it (its handler closes a connection when it returns), so no handler
// is still applying an RPC, which writes Raft's stable store, when the stores close. The
// hashicorp/raft transport's Close stops only its listener: a handler in the middle of a
// heartbeat would otherwise write a closed store, which Raft answers with a panic. false when
// limit passed first.
func (m *mux) waitRaft(limit time.Duration) bool {
	done := make(chan struct{})
	go func() { m.raftWG.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}

// raftConn is an inbound Raft connection the mux tracks until the transport closes it.
type raftConn struct {
	net.Conn
	m    *mux
	once sync.Once
}

func (c *raftConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.m.rpcMu.Lock()
		delete(c.m.rafts, c)
		c.m.rpcMu.Unlock()
		c.m.raftWG.Done()
	})
	return err
}

// trackRaft wraps an inbound Raft connection the transport accepts; false when the mux is closed
// (the connection is closed instead).
func (m *mux) trackRaft(c net.Conn) (*raftConn, bool) {
	m.rpcMu.Lock()
	defer m.rpcMu.Unlock()
	if m.rpcEnd {
		_ = c.Close()
		return nil, false
	}
	if m.rafts == nil {
		m.rafts = map[*raftConn]struct{}{}
	}
	rc := &raftConn{Conn: c, m: m}
	m.rafts[rc] = struct{}{}
	m.raftWG.Add(1)
	return rc, true
}

// trackRPC records an RPC connection being served; false when the mux is closed.
func (m *mux) trackRPC(c net.Conn) bool {
	m.rpcMu.Lock()
	defer m.rpcMu.Unlock()
	if m.rpcEnd {
		return false
	}
	if m.rpcs == nil {
		m.rpcs = map[net.Conn]struct{}{}
	}
	m.rpcs[c] = struct{}{}
	return true
}

func (m *mux) untrackRPC(c net.Conn) {
	m.rpcMu.Lock()
	defer m.rpcMu.Unlock()
	delete(m.rpcs, c)
}

// streamLayer is the raft.StreamLayer over the mux.
type streamLayer struct {
	m *mux
	d dialer
}

func (s streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.m.raftCh:
		if rc, ok := s.m.trackRaft(c); ok {
			return rc, nil
		}
		return nil, errors.New("raft transport closed")
	case <-s.m.closed:
		return nil, errors.New("raft transport closed")
	}
}

func (s streamLayer) Close() error   { return s.m.close() }
func (s streamLayer) Addr() net.Addr { return s.m.advAddr }

func (s streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.d.dial(ctx, string(addr), protoRaft)
}

// dialer opens connections to other servers' Raft ports: TLS first when tlsCfg is set (the
// server must hold a server certificate of the cluster; this one presents its own), then the
// protocol byte.
type dialer struct{ tlsCfg *tls.Config }

func (d dialer) dial(ctx context.Context, addr string, proto byte) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if d.tlsCfg != nil {
		tc := tls.Client(conn, d.tlsCfg)
		hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("dial %s: TLS handshake: %w", addr, err)
		}
		conn = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetWriteDeadline(dl)
	}
	if _, err := conn.Write([]byte{proto}); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	_ = conn.SetWriteDeadline(time.Time{})
	return conn, nil
}

// rateLimit lets one event through per period and counts the ones it held back.
type rateLimit struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many events were held back since the last log.
func (r *rateLimit) allow() (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.last) >= r.every {
		n := r.suppressed
		r.last, r.suppressed = now, 0
		return n, true
	}
	r.suppressed++
	return 0, false
}

// handle serves connections that start with b with h.
func (m *mux) handle(b byte, h func(net.Conn)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.extra == nil {
		m.extra = map[byte]func(net.Conn){}
	}
	m.extra[b] = h
}
