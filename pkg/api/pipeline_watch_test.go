package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestPipelineWatchGoesOn: a pipeline watch whose server drops the connection goes on with the
// next configured server and ends at its End message; fn answering false ends it at once (nil);
// a pipeline not found ends it without trying another server; a watch that reaches no server is
// ServersLost (naming a pipeline) once ReconnectFor passed.
func TestPipelineWatchGoesOn(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var asked []string
	serve := func(send func(ws *websocket.Conn)) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			asked = append(asked, r.URL.Path)
			mu.Unlock()
			if strings.HasSuffix(r.URL.Path, "/missing/watch") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"pipeline \"missing\" not found"}}`))
				return
			}
			ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			send(ws)
			_ = ws.Close()
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	exec := func(id, status string) PipelineWatchMessage {
		return PipelineWatchMessage{Executions: []PipelineExecution{{ID: id, Status: status}}}
	}
	a := serve(func(ws *websocket.Conn) { // one message, then the server dies
		_ = ws.WriteJSON(exec("e1", PipelineInProgress))
	})
	b := serve(func(ws *websocket.Conn) {
		_ = ws.WriteJSON(exec("e1", PipelineSucceeded))
		_ = ws.WriteJSON(PipelineWatchMessage{End: "deleted"})
	})
	cl, err := NewClient(Config{Address: a.URL + "," + b.URL, ReconnectFor: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = cl.PipelineWatch(context.Background(), "web", func(m PipelineWatchMessage) bool {
		if m.End != "" {
			got = append(got, "end "+m.End)
		}
		for _, e := range m.Executions {
			got = append(got, e.ID+" "+e.Status)
		}
		return true
	})
	if err != nil || strings.Join(got, ",") != "e1 InProgress,e1 Succeeded,end deleted" {
		t.Fatalf("watch: %v, messages %v", err, got)
	}

	// fn answering false ends the watch at the first message.
	n := 0
	if err := cl.PipelineWatch(context.Background(), "web", func(PipelineWatchMessage) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("a watch fn ended: %v after %d messages", err, n)
	}

	// Not found: the server's answer, no other server tried.
	mu.Lock()
	asked = nil
	mu.Unlock()
	err = cl.PipelineWatch(context.Background(), "missing", func(PipelineWatchMessage) bool { return true })
	mu.Lock()
	tries := 0
	for _, p := range asked {
		if p == "/v1/pipelines/missing/watch" {
			tries++
		}
	}
	mu.Unlock()
	if ErrorCode(err) != CodeNotFound || tries != 1 {
		t.Fatalf("watch of a missing pipeline: %v after %d tries", err, tries)
	}

	// No server at all: lost once ReconnectFor passed.
	a.Close()
	lost, err := NewClient(Config{Address: a.URL, ReconnectFor: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = lost.PipelineWatch(context.Background(), "web", func(PipelineWatchMessage) bool { return true })
	var sl *ServersLostError
	if !errors.Is(err, ErrServersLost) || !errors.As(err, &sl) || !sl.Pipeline || !strings.Contains(err.Error(), "watching pipeline web") {
		t.Fatalf("a watch without servers: %v", err)
	}
}
