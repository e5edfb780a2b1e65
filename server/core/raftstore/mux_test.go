package raftstore

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestMuxBoundsUnroutedConnections: connections that never finish their handshake hold at most
// maxUnrouted slots; the next one is closed at once (not after handshakeTimeout), and a slot
// freed by a connection going away lets a real one through.
func TestMuxBoundsUnroutedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newMux(ln, ln.Addr(), slog.New(slog.NewTextHandler(io.Discard, nil)), func(c net.Conn) { _ = c.Close() }, nil)
	routed := make(chan struct{}, 1)
	m.handle('Z', func(c net.Conn) { routed <- struct{}{}; _ = c.Close() })
	go m.serve()
	t.Cleanup(func() { _ = m.close() })

	waitSlots := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for len(m.unrouted) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d unrouted connections, want %d", len(m.unrouted), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var idle []net.Conn
	for range maxUnrouted {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	t.Cleanup(func() {
		for _, c := range idle {
			_ = c.Close()
		}
	})
	waitSlots(maxUnrouted)

	extra, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = extra.Close() }()
	// Closed at once: well before the handshake timeout would have closed it.
	_ = extra.SetReadDeadline(time.Now().Add(handshakeTimeout / 2))
	var b [1]byte
	_, err = extra.Read(b[:])
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a connection over the limit was not refused: %v", err)
	}

	_ = idle[0].Close()
	waitSlots(maxUnrouted - 1)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.Write([]byte{'Z'}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-routed:
	case <-time.After(10 * time.Second):
		t.Fatal("a connection in a freed slot was not routed")
	}
	waitSlots(maxUnrouted - 1) // the routed connection gave its slot back
}

// TestMuxWaitsForRaftHandlers: closing the mux closes the Raft connections it handed the
// transport, and waitRaft returns only once the transport's handler has closed its connection
// (returned), so the stores are not closed under a handler still applying an RPC.
func TestMuxWaitsForRaftHandlers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newMux(ln, ln.Addr(), slog.New(slog.NewTextHandler(io.Discard, nil)), func(c net.Conn) { _ = c.Close() }, nil)
	go m.serve()
	t.Cleanup(func() { _ = m.close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	if _, err := client.Write([]byte{protoRaft}); err != nil {
		t.Fatal(err)
	}
	s := streamLayer{m: m}
	conn, err := s.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// The "handler": blocked reading until the mux closes the connection under it, then still
	// busy until it is told to return (as one in the middle of an RPC would be).
	readErr, release := make(chan error, 1), make(chan struct{})
	go func() {
		var b [1]byte
		_, err := conn.Read(b[:])
		readErr <- err
		<-release
		_ = conn.Close()
	}()
	if err := m.close(); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; err == nil {
		t.Fatal("the handler's read succeeded after the mux closed; want the connection closed under it")
	}
	if m.waitRaft(50 * time.Millisecond) {
		t.Fatal("waitRaft returned while a handler had not closed its connection")
	}
	close(release)
	if !m.waitRaft(10 * time.Second) {
		t.Fatal("waitRaft did not return after the handler closed its connection")
	}
	if _, err := s.Accept(); err == nil {
		t.Fatal("Accept after close succeeded")
	}
}
