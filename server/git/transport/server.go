package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/slipwayhq/slipway/server/core/api"
)

// Server is the git transport of one Slipway server: its routes and its hook socket.
//
// Lifecycle: New, then Routes (declared with the API), then Start before the routes are
// served (it writes the hooks and opens the socket), Close at shutdown.
type Server struct {
	cfg Config
	err error // the configuration's error, reported by Start and by every request
	b   Backend
	log *slog.Logger

	mu     sync.Mutex
	pushes map[string]*push // by token: the receive-packs running now
	ln     net.Listener
	wg     sync.WaitGroup
}

// New returns the transport over b. The configuration is checked by Start.
func New(cfg Config, b Backend) *Server {
	c, err := cfg.withDefaults()
	s := &Server{cfg: c, err: err, b: b, pushes: map[string]*push{}, log: c.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "git-transport")
	return s
}

// SocketPath is where the hooks call back: Config.Dir/hook.sock.
func (s *Server) SocketPath() string { return filepath.Join(s.cfg.Dir, "hook.sock") }

// Start writes the hook scripts into Config.HooksDir and listens on the hook socket (a
// socket left by an earlier run is replaced). It fails when the configuration is incomplete.
func (s *Server) Start() error {
	if s.err != nil {
		return s.err
	}
	if err := writeHooks(s.cfg.HooksDir, s.cfg.HookBinary); err != nil {
		return err
	}
	if err := os.MkdirAll(s.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("git transport: %w", err)
	}
	path := s.SocketPath()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("git transport: remove the old hook socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("git transport: listen on the hook socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return fmt.Errorf("git transport: %w", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.serveHooks(ln)
	}()
	return nil
}

// Close stops the hook socket and waits for the callbacks being served. Pushes still running
// fail in their hooks (their requests end with the HTTP server).
func (s *Server) Close() error {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	s.wg.Wait()
	return err
}

// kit is the API's handler kit.
func (s *Server) kit() *api.Kit { return s.cfg.Kit() }

// register makes a push known to the hook socket under a new random token; the returned
// function forgets it.
func (s *Server) register(p *push) (string, func()) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	s.mu.Lock()
	s.pushes[token] = p
	s.mu.Unlock()
	return token, func() {
		s.mu.Lock()
		delete(s.pushes, token)
		s.mu.Unlock()
	}
}

func (s *Server) pushOf(token string) *push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushes[token]
}

// started reports whether the socket is open (Start ran and Close did not).
func (s *Server) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln != nil
}

// ctxDone is a helper for callbacks of a push whose request ended.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("the push request ended: %w", err)
	}
	return nil
}
