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

// fakeWork is a kind of work whose reports are {"kind", "text"}; the text "bad" is refused.
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
	var r struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(body, &r) != nil || r.Text == "bad" {
		warn("refused", "body", r.Text)
		return nil, false
	}
	return r.Text, true
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

// TestWorkByKind: the hub hands each report message to the work of its kind, once that work has
// checked it (and only message types that kind reports with); it commits each work's reports with
// the host they came from and lets the work answer on the session; an item is over for a host only
// when no work has it active; and two works cannot claim one kind.
func TestWorkByKind(t *testing.T) {
	h := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil)
	a := &fakeWork{kind: "a", types: []string{agentproto.TypeEvent}, live: map[string]bool{"h1/x": true}}
	b := &fakeWork{kind: "b", types: []string{agentproto.TypeEvent, agentproto.TypeLog}, live: map[string]bool{"h1/y": true}}
	h.AddWork(a)
	h.AddWork(b)
	if msg := panics(func() { h.AddWork(&fakeWork{kind: "a"}) }); !strings.Contains(msg, "added twice") {
		t.Fatalf("a second work of kind a: panic %q", msg)
	}

	c := &conn{host: state.Host{ID: "h1", Name: "web-1"}, send: make(chan []byte, 8), done: make(chan struct{}),
		warnings: &reportLog{log: h.log, host: "web-1", interval: time.Second}}
	for _, env := range []agentproto.Envelope{
		{Type: agentproto.TypeEvent, Body: json.RawMessage(`{"kind":"a","text":"one"}`)},
		{Type: agentproto.TypeEvent, Body: json.RawMessage(`{"kind":"a","text":"bad"}`)},
		{Type: agentproto.TypeLog, Body: json.RawMessage(`{"kind":"a","text":"a does not report with logs"}`)},
		{Type: agentproto.TypeEvent, Body: json.RawMessage(`{"kind":"c","text":"no such kind"}`)},
		{Type: agentproto.TypeEvent, Body: json.RawMessage(`{"text":"no kind is deploy, which this hub has not"}`)},
		{Type: agentproto.TypeLog, Body: json.RawMessage(`{"kind":"b","text":"two"}`)},
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
