package testutil

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
)

// Logger returns a slog.Logger that writes through t.Log, at warn level unless SLIPWAY_TEST_LOG
// names another (debug, info). Lines logged after the test ends are dropped, not a panic.
func Logger(t testing.TB) *slog.Logger {
	lvl := slog.LevelWarn
	switch os.Getenv("SLIPWAY_TEST_LOG") {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	}
	h := &tHandler{t: t, state: &tState{}, level: lvl}
	t.Cleanup(func() {
		h.state.mu.Lock()
		h.state.done = true
		h.state.mu.Unlock()
	})
	return slog.New(h)
}

type tState struct {
	mu   sync.Mutex
	done bool
}

type tHandler struct {
	t     testing.TB
	state *tState
	level slog.Level
	attrs []slog.Attr
}

func (h *tHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *tHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	add := func(a slog.Attr) bool { line += " " + a.String(); return true }
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	if !h.state.done {
		h.t.Log(line)
	}
	return nil
}

func (h *tHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

func (h *tHandler) WithGroup(string) slog.Handler { return h }
