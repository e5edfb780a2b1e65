package raftstore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The Raft port carries two protocols; the first byte of a connection says which.
const (
	protoRaft byte = 'R' // hashicorp/raft's network transport
	protoRPC  byte = 'P' // net/rpc: forwarding, read index, join, status
)

// mux accepts connections on the Raft port and hands each to the protocol named by its first byte.
type mux struct {
	ln      net.Listener
	log     *slog.Logger
	raftCh  chan net.Conn
	rpcConn func(net.Conn)
	closed  chan struct{}
	once    sync.Once
	advAddr net.Addr

	mu    sync.RWMutex
	extra map[byte]func(net.Conn) // protocols other packages serve on this port
}

func newMux(ln net.Listener, adv net.Addr, log *slog.Logger, rpcConn func(net.Conn)) *mux {
	return &mux{ln: ln, log: log, raftCh: make(chan net.Conn, 16), rpcConn: rpcConn, closed: make(chan struct{}), advAddr: adv}
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
		go m.route(conn)
	}
}

func (m *mux) route(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		_ = conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	switch b[0] {
	case protoRaft:
		select {
		case m.raftCh <- conn:
		case <-m.closed:
			_ = conn.Close()
		}
	case protoRPC:
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

func (m *mux) close() error {
	var err error
	m.once.Do(func() {
		close(m.closed)
		err = m.ln.Close()
	})
	return err
}

// streamLayer is the raft.StreamLayer over the mux.
type streamLayer struct{ m *mux }

func (s streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.m.raftCh:
		return c, nil
	case <-s.m.closed:
		return nil, errors.New("raft transport closed")
	}
}

func (s streamLayer) Close() error   { return s.m.close() }
func (s streamLayer) Addr() net.Addr { return s.m.advAddr }

func (s streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialProto(string(addr), protoRaft, timeout)
}

func dialProto(addr string, proto byte, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte{proto}); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
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
