package session

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// fakeWorker records what the session hands it.
type fakeWorker struct {
	kind string

	mu        sync.Mutex
	started   []string // deployment_id of each Run
	cancelled []string
	running   []string
}

func (f *fakeWorker) Kind() string      { return f.kind }
func (f *fakeWorker) Recover() []string { return nil }
func (f *fakeWorker) Start(body json.RawMessage) error {
	var run agentproto.Run
	if err := json.Unmarshal(body, &run); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, run.DeploymentID)
	return nil
}
func (f *fakeWorker) Cancel(id, _ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
}
func (f *fakeWorker) Running() []string { return f.running }
func (f *fakeWorker) Stop(string)       {}

func envelope(t *testing.T, typ string, body any) agentproto.Envelope {
	t.Helper()
	b, err := agentproto.Encode(typ, body)
	if err != nil {
		t.Fatal(err)
	}
	var env agentproto.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestDispatchByKind: Run and Cancel reach the worker of their kind (no kind is a deployment);
// work of a kind the agent has no worker for is logged and dropped, never run as a deployment,
// and its Ack does not acknowledge a deployment's reports of the same ID.
func TestDispatchByKind(t *testing.T) {
	var logs bytes.Buffer
	out, err := OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = out.Close() }()
	deploy := &fakeWorker{kind: agentproto.KindDeploy}
	c := New(Config{Workers: []Worker{deploy}, Outbox: out, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_ = out.Add("d-1", agentproto.TypeEvent, func(seq uint64) any {
		return agentproto.Event{DeploymentID: "d-1", Seq: seq, Event: agentproto.DeploymentEnd, Status: agentproto.StatusSucceeded}
	})

	c.dispatch(envelope(t, agentproto.TypeRun, agentproto.Run{DeploymentID: "d-1"}))
	c.dispatch(envelope(t, agentproto.TypeRun, agentproto.Run{Kind: agentproto.KindDeploy, DeploymentID: "d-2"}))
	c.dispatch(envelope(t, agentproto.TypeRun, agentproto.Run{Kind: "build", DeploymentID: "b-1"}))
	c.dispatch(envelope(t, agentproto.TypeCancel, agentproto.Cancel{Kind: "build", DeploymentID: "d-1"}))
	c.dispatch(envelope(t, agentproto.TypeCancel, agentproto.Cancel{DeploymentID: "d-2"}))
	c.dispatch(envelope(t, agentproto.TypeAck, agentproto.Ack{Kind: "build", DeploymentID: "d-1", Seq: 1}))
	c.dispatch(envelope(t, "something-later", map[string]string{"kind": "build"}))

	if !slices.Equal(deploy.started, []string{"d-1", "d-2"}) || !slices.Equal(deploy.cancelled, []string{"d-2"}) {
		t.Fatalf("the deployment worker started %v and cancelled %v; want [d-1 d-2] and [d-2]", deploy.started, deploy.cancelled)
	}
	if got := out.Acked()["d-1"]; got != 0 {
		t.Fatalf("an Ack of kind build acknowledged deployment d-1 up to %d", got)
	}
	if n := strings.Count(logs.String(), "no worker for"); n != 3 {
		t.Fatalf("%d log lines about a kind without a worker, want 3 (run, cancel, ack):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "kind=build") || !strings.Contains(logs.String(), "id=b-1") {
		t.Fatalf("the log does not name the kind and the work:\n%s", logs.String())
	}
	c.dispatch(envelope(t, agentproto.TypeAck, agentproto.Ack{DeploymentID: "d-1", Seq: 1}))
	if _, ok := out.Acked()["d-1"]; ok {
		t.Fatal("the deployment's Ack did not reach its outbox (a finished, acknowledged outbox is removed)")
	}
}

// TestHeartbeatListsWorkByKind: deployments go in Running (where protocol 1 servers read them),
// the other kinds in Work; with no work of another kind the heartbeat is protocol 1's.
func TestHeartbeatListsWorkByKind(t *testing.T) {
	deploy := &fakeWorker{kind: agentproto.KindDeploy, running: []string{"d-1"}}
	build := &fakeWorker{kind: "build"}
	ws := newWorkers([]Worker{deploy, build})
	b, _ := json.Marshal(ws.heartbeat())
	if string(b) != `{"running":["d-1"]}` {
		t.Fatalf("heartbeat %s", b)
	}
	build.running = []string{"b-1"}
	b, _ = json.Marshal(ws.heartbeat())
	if string(b) != `{"running":["d-1"],"work":{"build":["b-1"]}}` {
		t.Fatalf("heartbeat %s", b)
	}
	if p := Peer([]Worker{deploy, build}); !slices.Equal(p.Capabilities, []string{"build", "deploy"}) || p.Protocol != agentproto.ProtocolVersion {
		t.Fatalf("Peer = %+v", p)
	}
}

// TestSessionAdvertisesItsWorkers: the session upgrade carries the agent headers, naming exactly
// the kinds of the client's workers.
func TestSessionAdvertisesItsWorkers(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		http.Error(w, "no", http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	c := New(Config{Servers: []string{srv.URL}, Secret: "s", Workers: []Worker{&fakeWorker{kind: agentproto.KindDeploy}}})
	if err := c.session(context.Background(), srv.URL); err == nil {
		t.Fatal("a refused session succeeded")
	}
	h := <-got
	p, err := agentproto.ParsePeer(h)
	if err != nil || p.Protocol != agentproto.ProtocolVersion || !slices.Equal(p.Capabilities, []string{agentproto.KindDeploy}) || len(p.Plugins) != 0 {
		t.Fatalf("session headers %v parse to %+v, %v", h, p, err)
	}
	if h.Get(agentproto.HeaderCapabilities) != "deploy" {
		t.Fatalf("%s: %q", agentproto.HeaderCapabilities, h.Get(agentproto.HeaderCapabilities))
	}
}
