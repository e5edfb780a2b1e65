package session

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/state"
)

// fakeWork is a kind of work whose reports are strings; "bad" is refused.
type fakeWork struct {
	kind  string
	types []string
	live  map[string]bool // host/id -> active

	mu        sync.Mutex
	committed []Report
}

func (w *fakeWork) Kind() string                                 { return w.kind }
func (w *fakeWork) Pending(*state.Tx, string) []string           { return nil }
func (w *fakeWork) Start(*state.Tx, string) (string, any, error) { return "", nil, nil }
func (w *fakeWork) Active(_ *state.Tx, host, id string) bool     { return w.live[host+"/"+id] }
func (w *fakeWork) Reports() []string                            { return w.types }
func (w *fakeWork) Check(_ string, body json.RawMessage, warn func(string, ...any)) (any, bool) {
	var s string
	if json.Unmarshal(body, &s) != nil || s == "bad" {
		warn("refused", "body", s)
		return nil, false
	}
	return s, true
}
func (w *fakeWork) Commit(_ context.Context, reports []Report) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.committed = append(w.committed, reports...)
	for _, r := range reports {
		r.Reply(agentproto.TypeAck, r.Body)
	}
}

func panics(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg, _ = p.(string)
		}
	}()
	f()
	return ""
}

// TestWorkByKind: the hub hands each report message to the work that claims its type, once that
// work has checked it; it commits each work's reports with the host they came from and lets the
// work answer on the session; an item is over for a host only when no work has it active; and
// two works cannot claim one kind or one message type.
func TestWorkByKind(t *testing.T) {
	h := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil)
	a := &fakeWork{kind: "a", types: []string{"a.report"}, live: map[string]bool{"h1/x": true}}
	b := &fakeWork{kind: "b", types: []string{"b.report"}, live: map[string]bool{"h1/y": true}}
	h.AddWork(a)
	h.AddWork(b)
	if msg := panics(func() { h.AddWork(&fakeWork{kind: "a"}) }); !strings.Contains(msg, "added twice") {
		t.Fatalf("a second work of kind a: panic %q", msg)
	}
	if msg := panics(func() { h.AddWork(&fakeWork{kind: "c", types: []string{"b.report"}}) }); !strings.Contains(msg, "reports on both") {
		t.Fatalf("a second work claiming b.report: panic %q", msg)
	}

	c := &conn{host: state.Host{ID: "h1", Name: "web-1"}, send: make(chan []byte, 8), done: make(chan struct{}),
		warnings: &reportLog{log: h.log, host: "web-1", interval: time.Second}}
	for _, env := range []agentproto.Envelope{
		{Type: "a.report", Body: json.RawMessage(`"one"`)},
		{Type: "a.report", Body: json.RawMessage(`"bad"`)},
		{Type: "unknown", Body: json.RawMessage(`"ignored"`)},
		{Type: "b.report", Body: json.RawMessage(`"two"`)},
	} {
		h.receive(c, env)
	}
	var batch []report
	for len(h.reports) > 0 {
		batch = append(batch, <-h.reports)
	}
	if len(batch) != 2 || batch[0].work != a || batch[0].body != "one" || batch[1].work != b || batch[1].body != "two" {
		t.Fatalf("queued %+v; want a's one and b's two", batch)
	}
	h.commit(context.Background(), batch)
	if len(a.committed) != 1 || a.committed[0].HostID != "h1" || a.committed[0].Body != "one" || len(b.committed) != 1 || b.committed[0].Body != "two" {
		t.Fatalf("committed a %+v, b %+v", a.committed, b.committed)
	}
	if len(c.send) != 2 {
		t.Fatalf("%d replies on the session; want one per committed report", len(c.send))
	}
	for id, want := range map[string]bool{"x": true, "y": true, "z": false} {
		if got := h.active(nil, "h1", id); got != want {
			t.Errorf("item %s active %v; want %v", id, got, want)
		}
	}
}
