package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestBuildLogsFollowResumes: a follow whose server drops the connection goes on with the next
// configured server, asking for the lines after the last one it received, and ends at the end
// message; a follow that reaches no server is ServersLost once ReconnectFor passed.
func TestBuildLogsFollowResumes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var asked []string
	serve := func(send func(ws *websocket.Conn)) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			asked = append(asked, r.URL.Path+"?"+r.URL.RawQuery)
			mu.Unlock()
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
	line := func(n uint64, text string) BuildLogLine { return BuildLogLine{N: n, Phase: "BUILD", Text: text} }
	a := serve(func(ws *websocket.Conn) { // two lines, then the server dies
		_ = ws.WriteJSON(BuildLogMessage{Lines: []BuildLogLine{line(1, "one"), line(2, "two")}, Next: 2})
	})
	b := serve(func(ws *websocket.Conn) {
		_ = ws.WriteJSON(BuildLogMessage{Lines: []BuildLogLine{line(3, "three")}, Next: 3})
		_ = ws.WriteJSON(BuildLogMessage{End: BuildSucceeded, Next: 3})
	})
	cl, err := NewClient(Config{Address: a.URL + "," + b.URL, ReconnectFor: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	end := ""
	err = cl.BuildLogsFollow(context.Background(), "web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a", 0, func(m BuildLogMessage) error {
		for _, l := range m.Lines {
			texts = append(texts, l.Text)
		}
		end = m.End
		return nil
	})
	if err != nil || len(texts) != 3 || texts[2] != "three" || end != BuildSucceeded {
		t.Fatalf("follow: %v, lines %v, end %q", err, texts, end)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) < 2 || asked[0] != "/v1/builds/web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a/logs/watch?" ||
		asked[len(asked)-1] != "/v1/builds/web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a/logs/watch?after=2" {
		t.Fatalf("asked %v", asked)
	}

	// No server at all: lost once ReconnectFor passed.
	a.Close()
	lost, err := NewClient(Config{Address: a.URL, ReconnectFor: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = lost.BuildLogsFollow(context.Background(), "web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a", 5, func(BuildLogMessage) error { return nil })
	var sl *ServersLostError
	if !errors.Is(err, ErrServersLost) || !errors.As(err, &sl) || !sl.Build {
		t.Fatalf("a follow without servers: %v", err)
	}
}
