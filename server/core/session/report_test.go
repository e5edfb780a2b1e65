package session

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

type lines struct {
	mu  sync.Mutex
	got []slog.Record
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, r)
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

// TestReportWarningsAreLimited: a session's warnings about refused or cut reports are written
// at most once per interval, and the next line says how many were left out.
func TestReportWarningsAreLimited(t *testing.T) {
	h := &lines{}
	w := &reportLog{log: slog.New(h), host: "web-1", interval: 10 * time.Second}
	now := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		w.warn(now.Add(time.Duration(i)*time.Millisecond), "refused")
	}
	if len(h.got) != 1 {
		t.Fatalf("%d lines for 1,000 warnings within one interval; want 1", len(h.got))
	}
	w.warn(now.Add(11*time.Second), "refused")
	if len(h.got) != 2 {
		t.Fatalf("%d lines after the interval; want 2", len(h.got))
	}
	var suppressed int64
	h.got[1].Attrs(func(a slog.Attr) bool {
		if a.Key == "warnings_suppressed" {
			suppressed = a.Value.Int64()
		}
		return true
	})
	if suppressed != 999 {
		t.Fatalf("the line after the interval says %d warnings were suppressed; want 999", suppressed)
	}
}
