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

// TestNoDeployWorkWithoutTheCapability: the hub pushes a deployment to an agent that advertised
// deploy, and to one that sent no headers (protocol 1), but not to one whose capabilities lack
// deploy; nor does it cancel deployments for it. The Run sent has no kind field.
func TestNoDeployWorkWithoutTheCapability(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hosts := []string{"h-deploy", "h-v1", "h-build"}
	if err := st.Update(func(tx *state.Tx) error {
		targets := map[string]*state.Target{}
		for _, id := range hosts {
			if err := tx.PutHost(state.Host{ID: id, Name: id}); err != nil {
				return err
			}
			targets[id] = &state.Target{HostID: id, HostName: id, Status: "pending"}
		}
		return tx.PutDeployment(state.Deployment{ID: "d-1", App: "a", GroupID: "g", Format: "tar.gz", Status: "running", Targets: targets})
	}); err != nil {
		t.Fatal(err)
	}
	h := New(Config{Logger: slog.New(slog.DiscardHandler)}, nil, st)
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

// TestReportsOfOtherKindsAreRefused: a report of a kind this server takes no reports of is
// refused, never taken for a deployment's; a deployment's report, with or without an explicit
// kind, goes on with its kind cleared, so the replicated state gets exactly protocol 1's report.
func TestReportsOfOtherKindsAreRefused(t *testing.T) {
	c := &conn{host: state.Host{ID: "h", Name: "h"}, warnings: &reportLog{log: slog.New(slog.DiscardHandler), host: "h", interval: time.Hour}}
	for _, tc := range []struct {
		kind string
		ok   bool
	}{{"", true}, {agentproto.KindDeploy, true}, {"build", false}, {"Deploy", false}} {
		ev := agentproto.Event{Kind: tc.kind, DeploymentID: "d-1", Seq: 1}
		if got := c.deployReport(&ev.Kind, "event", ev.DeploymentID, ev.Seq); got != tc.ok {
			t.Fatalf("kind %q: taken %v, want %v", tc.kind, got, tc.ok)
		}
		if tc.ok {
			b, _ := json.Marshal(ev)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			if _, has := m["kind"]; has {
				t.Fatalf("kind %q: the report goes on as %s", tc.kind, b)
			}
		}
	}
}
