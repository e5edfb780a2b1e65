package session

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
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
