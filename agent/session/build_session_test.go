package session

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// TestBuildOverASession: a server pushes a build over a real session; the agent advertises
// build, lists it in its heartbeats' Work while it runs, sends its reports with Kind build, and
// deletes its outbox once the server acknowledged the end (the Ack of kind build reaches the
// box "build~PROJECT~UUID").
func TestBuildOverASession(t *testing.T) {
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello from the build\n      - sleep 1\n"
	files := newBuildServer(t, gitTar(t, map[string]string{"buildspec.yml": spec}), nil)
	id := "web:abababab-2222-4333-8444-555555555555"
	run := testRun(id, files)

	var mu sync.Mutex
	var caps []string
	var heartbeats []agentproto.Heartbeat
	var events []agentproto.Event
	acked := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/v1/agent/builds/", files.srv.Config.Handler)
	mux.HandleFunc("/v1/agent/session", func(w http.ResponseWriter, r *http.Request) {
		p, _ := agentproto.ParsePeer(r.Header)
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.Close() }()
		mu.Lock()
		caps = p.Capabilities
		mu.Unlock()
		send := func(typ string, body any) {
			b, _ := agentproto.Encode(typ, body)
			_ = ws.WriteMessage(websocket.TextMessage, b)
		}
		send(agentproto.TypeHello, agentproto.Hello{HostID: "h", ServerID: "s", HeartbeatInterval: 100 * time.Millisecond, Protocol: agentproto.ProtocolVersion, Kinds: []string{"build", "deploy"}})
		send(agentproto.TypeRun, run)
		for {
			var env agentproto.Envelope
			if err := ws.ReadJSON(&env); err != nil {
				return
			}
			switch env.Type {
			case agentproto.TypeHeartbeat:
				var hb agentproto.Heartbeat
				_ = json.Unmarshal(env.Body, &hb)
				mu.Lock()
				heartbeats = append(heartbeats, hb)
				mu.Unlock()
			case agentproto.TypeEvent:
				var ev agentproto.Event
				_ = json.Unmarshal(env.Body, &ev)
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
				if ev.Event == agentproto.BuildEnd {
					send(agentproto.TypeAck, agentproto.Ack{Kind: agentproto.KindBuild, DeploymentID: id, Seq: ev.Seq})
					select {
					case <-acked:
					default:
						close(acked)
					}
				}
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	b, out := newTestBuilds(t, dir, files)
	b.cfg.Fetcher.Servers = func() []string { return []string{srv.URL} }
	c := New(Config{Servers: []string{srv.URL}, Secret: testHostSecret, Workers: []Worker{b}, Outbox: out, Logger: quietLog()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	select {
	case <-acked:
	case <-time.After(60 * time.Second):
		t.Fatal("no BuildEnd reached the server")
	}
	box := filepath.Join(dir, "outbox", buildKey(id)+".jsonl")
	testutil.Eventually(t, 10*time.Second, func() error {
		if _, err := os.Stat(box); !os.IsNotExist(err) {
			return fmt.Errorf("the acknowledged build's outbox %s is still there", box)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(caps, []string{"build"}) {
		t.Fatalf("the session advertised %v", caps)
	}
	sawWork := false
	for _, hb := range heartbeats {
		if slices.Equal(hb.Work["build"], []string{id}) && len(hb.Running) == 0 {
			sawWork = true
		}
	}
	if !sawWork {
		t.Fatalf("no heartbeat listed the build in Work: %+v", heartbeats)
	}
	for _, ev := range events {
		if ev.Kind != agentproto.KindBuild || ev.DeploymentID != id {
			t.Fatalf("event %+v", ev)
		}
	}
	if last := events[len(events)-1]; last.Event != agentproto.BuildEnd || last.Result != "SUCCEEDED" {
		t.Fatalf("last event %+v", last)
	}
}
