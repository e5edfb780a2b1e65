package session

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/state"
)

// testConn is a session of host id whose agent advertised peer, with nothing behind its
// websocket: the tests read what the hub queues for it.
func testConn(h *Hub, id string, peer agentproto.Peer) *conn {
	c := &conn{host: state.Host{ID: id, Name: id}, peer: peer, send: make(chan []byte, 16), done: make(chan struct{}),
		sent: map[string]bool{}, warnings: &reportLog{log: h.log, host: id, interval: time.Hour}}
	h.mu.Lock()
	h.sessions[id] = c
	h.mu.Unlock()
	return c
}

// queued returns the types of the messages queued for c.
func queued(t *testing.T, c *conn) []string {
	t.Helper()
	var types []string
	for {
		select {
		case b := <-c.send:
			var env agentproto.Envelope
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatal(err)
			}
			var fields map[string]any
			_ = json.Unmarshal(env.Body, &fields)
			if _, ok := fields["kind"]; ok {
				t.Fatalf("a deployment's %s carries a kind field (protocol 1 agents must get what they know): %s", env.Type, env.Body)
			}
			types = append(types, env.Type)
		default:
			return types
		}
	}
}

// TestNoDeployWorkWithoutTheCapability: the hub pushes deploy work to an agent that advertised
// deploy, and to one that sent no headers (protocol 1), but not to one whose capabilities lack
// deploy; nor does it cancel deployments for it. What is sent carries no kind field.
func TestNoDeployWorkWithoutTheCapability(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hosts := []string{"h-deploy", "h-v1", "h-build"}
	if err := st.Update(func(tx *state.Tx) error {
		for _, id := range hosts {
			if err := tx.PutHost(state.Host{ID: id, Name: id}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h := New(Config{Logger: slog.New(slog.DiscardHandler)}, nil, st)
	h.AddWork(&runWork{fakeWork: fakeWork{kind: agentproto.KindDeploy, types: []string{agentproto.TypeEvent}}, pending: "d-1"})
	v1, err := agentproto.ParsePeer(nil)
	if err != nil {
		t.Fatal(err)
	}
	deploy := testConn(h, "h-deploy", agentproto.Peer{Protocol: 2, Capabilities: []string{agentproto.KindDeploy}})
	old := testConn(h, "h-v1", v1)
	build := testConn(h, "h-build", agentproto.Peer{Protocol: 2, Capabilities: []string{"build"}})

	h.dispatch()
	for _, c := range []*conn{deploy, old} {
		if got := queued(t, c); len(got) != 1 || got[0] != agentproto.TypeRun {
			t.Fatalf("%s was sent %v, want one run", c.host.ID, got)
		}
	}
	if got := queued(t, build); len(got) != 0 {
		t.Fatalf("an agent without the deploy capability was sent %v", got)
	}

	// A heartbeat listing a deployment that is not active for the host: cancelled for an agent
	// that runs deployments, nothing for one that does not.
	h.cancelFinished(deploy, []string{"d-gone"})
	h.cancelFinished(build, []string{"d-gone"})
	if got := queued(t, deploy); len(got) != 1 || got[0] != agentproto.TypeCancel {
		t.Fatalf("deploy agent: %v, want one cancel", got)
	}
	if got := queued(t, build); len(got) != 0 {
		t.Fatalf("an agent without the deploy capability was sent %v", got)
	}
}

// runWork is a fakeWork with one pending item for every host, started by a Run.
type runWork struct {
	fakeWork
	pending string
}

func (w *runWork) Pending(*state.Tx, string) []string { return []string{w.pending} }
func (w *runWork) Start(_ *state.Tx, id string) (string, any, error) {
	return agentproto.TypeRun, agentproto.Run{DeploymentID: id}, nil
}

// TestHelloAnnouncesTheKinds: Hello names the kinds of work the hub has, from its works.
func TestHelloAnnouncesTheKinds(t *testing.T) {
	h := New(Config{Logger: slog.New(slog.DiscardHandler)}, nil, nil)
	h.AddWork(&fakeWork{kind: agentproto.KindDeploy})
	h.AddWork(&fakeWork{kind: "build"})
	if got := h.kinds(); len(got) != 2 || got[0] != agentproto.KindDeploy || got[1] != "build" {
		t.Fatalf("kinds %v", got)
	}
}

// TestSentItemThatEndsIsCancelledAtOnce: an item a session was sent is cancelled in the first
// dispatch round after it stops being pending and active for the host (a stop applied), without
// waiting for a heartbeat, once per session; an item still active is not. Protocol 1 agents get
// the cancel without a kind field.
func TestSentItemThatEndsIsCancelledAtOnce(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Update(func(tx *state.Tx) error { return tx.PutHost(state.Host{ID: "h1", Name: "h1"}) }); err != nil {
		t.Fatal(err)
	}
	h := New(Config{Logger: slog.New(slog.DiscardHandler)}, nil, st)
	w := &listWork{fakeWork: fakeWork{kind: agentproto.KindDeploy}, items: []string{"d-1", "d-2"}}
	h.AddWork(w)
	v1, err := agentproto.ParsePeer(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := testConn(h, "h1", v1)

	h.dispatch()
	if got := queued(t, c); len(got) != 2 || got[0] != agentproto.TypeRun || got[1] != agentproto.TypeRun {
		t.Fatalf("first round sent %v, want two runs", got)
	}
	w.set("d-2") // d-1 stopped
	h.dispatch()
	got := drain(t, c)
	if len(got) != 1 || got[0].Type != agentproto.TypeCancel {
		t.Fatalf("after d-1 ended: %v, want one cancel", got)
	}
	var cn agentproto.Cancel
	if err := json.Unmarshal(got[0].Body, &cn); err != nil || cn.DeploymentID != "d-1" || bytes.Contains(got[0].Body, []byte(`"kind"`)) {
		t.Fatalf("cancel %s (%v), want d-1", got[0].Body, err)
	}
	h.dispatch()
	if got := queued(t, c); len(got) != 0 {
		t.Fatalf("a later round sent %v; d-1 is cancelled once, d-2 runs on", got)
	}
}

// listWork is a fakeWork whose items are pending and active for every host until set drops them.
type listWork struct {
	fakeWork
	mu    sync.Mutex
	items []string
}

func (w *listWork) set(items ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.items = items
}

func (w *listWork) Pending(*state.Tx, string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.items)
}

func (w *listWork) Active(_ *state.Tx, _, id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Contains(w.items, id)
}

func (w *listWork) Start(_ *state.Tx, id string) (string, any, error) {
	return agentproto.TypeRun, agentproto.Run{DeploymentID: id}, nil
}

// drain returns the messages queued for c.
func drain(t *testing.T, c *conn) []agentproto.Envelope {
	t.Helper()
	var out []agentproto.Envelope
	for {
		select {
		case b := <-c.send:
			var env agentproto.Envelope
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatal(err)
			}
			out = append(out, env)
		default:
			return out
		}
	}
}
