package api

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// PipelineWatch streams a pipeline's newest executions over a websocket
// (GET /v1/pipelines/{name}/watch), calling fn for each message until fn answers false (nil),
// the server ends the watch (nil; the last message has End set, or the socket closed normally),
// or ctx ends (ctx's error).
//
// Every message is a whole picture (the pipeline and its newest executions), so a lost
// connection goes on from another server without a gap to fill: the configured addresses and
// the servers the cluster listed, in turn, as DeploymentWatch does; after Config.ReconnectFor
// without reaching any it returns a *ServersLostError (errors.Is ErrServersLost). An error the
// server answers (not found, forbidden, a revoked token) ends the watch at once.
func (c *Client) PipelineWatch(ctx context.Context, name string, fn func(PipelineWatchMessage) bool) error {
	servers := append([]*url.URL(nil), c.addrs...)
	learned, seen := false, false
	at, tried := 0, 0
	var lostSince time.Time
	backoff := 100 * time.Millisecond
	for {
		cc := c.at(servers[at])
		progressed := false
		stop, err := cc.pipelineWatchOnce(ctx, name, func() {
			if !learned {
				learned = true
				servers = cc.learnServers(ctx, servers)
			}
		}, func(m PipelineWatchMessage) bool {
			progressed, seen = true, true
			return fn(m)
		})
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case stop || err == nil:
			return nil
		case c.reconnectFor < 0 || !reconnectable(err, &watchCursor{index: boolIndex(seen)}):
			return err
		}
		if progressed || lostSince.IsZero() {
			lostSince, tried, backoff = time.Now(), 0, 100*time.Millisecond
		}
		if time.Since(lostSince) > c.reconnectFor {
			var addrs []string
			for _, u := range servers {
				addrs = append(addrs, u.Host)
			}
			return &ServersLostError{Deployment: name, Pipeline: true, Servers: addrs, For: time.Since(lostSince), Last: err}
		}
		at = (at + 1) % len(servers)
		if tried++; tried < len(servers) {
			continue
		}
		tried = 0 // every server failed once: pause before the next round
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(backoff, max(c.reconnectFor-time.Since(lostSince), time.Millisecond))):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// pipelineWatchOnce runs one connection of a pipeline watch: connected is called once the
// server accepted it. stop is true when fn answered false; a nil error with stop false means the
// server ended the watch.
func (c *Client) pipelineWatchOnce(ctx context.Context, name string, connected func(), fn func(PipelineWatchMessage) bool) (stop bool, err error) {
	ws, err := c.dialWS(ctx, pipelinePath(name)+"/watch", nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = ws.Close() }()
	connected()
	for {
		var m PipelineWatchMessage
		if err := ws.ReadJSON(&m); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
				return false, nil
			}
			if ctx.Err() != nil || strings.Contains(err.Error(), "use of closed") {
				return false, ctx.Err()
			}
			return false, c.transportErr(err)
		}
		if !fn(m) {
			return true, nil
		}
		if m.End != "" {
			return false, nil
		}
	}
}
