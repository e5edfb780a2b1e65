package api

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// ErrServersLost is what errors.Is finds in the error of a deployment watch that could reach no
// server of the cluster for longer than Config.ReconnectFor. The deployment itself goes on: the
// cluster runs it whether anyone watches or not.
var ErrServersLost = errors.New("lost every server of the cluster")

// ServersLostError is the error of a deployment watch that lost every server it knew.
type ServersLostError struct {
	Deployment string        // the deployment watched (or the build followed, when Build)
	Build      bool          // a build's log was followed (BuildLogsFollow)
	Pipeline   bool          // a pipeline was watched (PipelineWatch); Deployment is its name
	Servers    []string      // the addresses tried
	For        time.Duration // how long they were tried
	Last       error         // the last attempt's error
}

func (e *ServersLostError) Error() string {
	what := "watching deployment"
	switch {
	case e.Build:
		what = "following build"
	case e.Pipeline:
		what = "watching pipeline"
	}
	return fmt.Sprintf("%v while %s %s: tried %s for %s (last: %v)",
		ErrServersLost, what, e.Deployment, strings.Join(e.Servers, ", "), e.For.Round(time.Millisecond), e.Last)
}

// Is makes errors.Is(err, ErrServersLost) true.
func (e *ServersLostError) Is(target error) bool { return target == ErrServersLost }

func (e *ServersLostError) Unwrap() error { return e.Last }

// watchCursor is what a watch has received: where a new connection resumes.
type watchCursor struct {
	index uint64            // ModifyIndex of the last deployment record
	after map[string]uint64 // host → log sequence of the last lines
}

func (w *watchCursor) query() url.Values {
	q := url.Values{}
	if w.index > 0 {
		q.Set("index", formatUint(w.index))
	}
	for host, seq := range w.after {
		q.Add("after", host+":"+formatUint(seq))
	}
	return q
}

func (w *watchCursor) saw(m WatchMessage) {
	if m.Deployment != nil && m.Deployment.ModifyIndex > w.index {
		w.index = m.Deployment.ModifyIndex
	}
	if m.Host != "" && m.Next > w.after[m.Host] {
		w.after[m.Host] = m.Next
	}
}

// DeploymentWatch streams a deployment's changes and output over a websocket, calling fn for
// each message, until the deployment has finished (nil), fn returns an error, or ctx ends.
//
// When the connection is lost (the server died, restarted or could not serve the watch), the
// watch goes on from another server: the configured addresses and the servers the cluster
// listed (GET /v1/status/servers) when the watch started, in turn, resuming where it was, so fn
// sees no message twice. After Config.ReconnectFor without reaching any, it returns a
// *ServersLostError (errors.Is ErrServersLost). An error the server answers (not found, a
// revoked token) ends the watch at once.
func (c *Client) DeploymentWatch(ctx context.Context, id string, fn func(WatchMessage) error) error {
	cur := &watchCursor{after: map[string]uint64{}}
	servers := append([]*url.URL(nil), c.addrs...)
	learned := false
	at := 0 // the server in use
	tried := 0
	var lostSince time.Time
	backoff := 100 * time.Millisecond
	for {
		cc := c.at(servers[at])
		progressed := false
		err := cc.watchOnce(ctx, id, cur, func() {
			if !learned {
				learned = true
				servers = cc.learnServers(ctx, servers)
			}
		}, func(m WatchMessage) error {
			progressed = true
			if err := fn(m); err != nil {
				return err
			}
			cur.saw(m)
			return nil
		})
		if err == nil || ctx.Err() != nil {
			if err != nil {
				return ctx.Err()
			}
			return nil
		}
		if errors.Is(err, errFn) || c.reconnectFor < 0 || !reconnectable(err, cur) {
			return unwrapFn(err)
		}
		if progressed || lostSince.IsZero() {
			lostSince, tried, backoff = time.Now(), 0, 100*time.Millisecond
		}
		if time.Since(lostSince) > c.reconnectFor {
			var addrs []string
			for _, u := range servers {
				addrs = append(addrs, u.Host)
			}
			return &ServersLostError{Deployment: id, Servers: addrs, For: time.Since(lostSince), Last: err}
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

// errFn marks an error fn returned, which ends the watch as it is.
var errFn = errors.New("watch callback")

type fnError struct{ err error }

func (e *fnError) Error() string        { return e.err.Error() }
func (e *fnError) Is(target error) bool { return target == errFn }
func (e *fnError) Unwrap() error        { return e.err }

func unwrapFn(err error) error {
	var fe *fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	return err
}

// watchOnce runs one connection of a watch: connected is called once the server accepted it.
func (c *Client) watchOnce(ctx context.Context, id string, cur *watchCursor, connected func(), fn func(WatchMessage) error) error {
	ws, err := c.dialWS(ctx, "/v1/deployments/"+url.PathEscape(id)+"/watch", cur.query())
	if err != nil {
		return err
	}
	defer func() { _ = ws.Close() }()
	connected()
	for {
		var m WatchMessage
		if err := ws.ReadJSON(&m); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
				return nil
			}
			if ctx.Err() != nil || strings.Contains(err.Error(), "use of closed") {
				return ctx.Err()
			}
			return c.transportErr(err)
		}
		if err := fn(m); err != nil {
			return &fnError{err: err}
		}
	}
}

// reconnectable reports whether a watch that met err may go on from another server: the
// connection failed or broke, or the server could not serve it now. A deployment not found is
// worth another server only once one server had it (a lagging one may not have it yet).
func reconnectable(err error, cur *watchCursor) bool {
	var tlsErr *TLSError
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &tlsErr):
		return false
	case errors.As(err, &ce):
		return ce.Code != websocket.ClosePolicyViolation // 1008: the token was revoked or expired
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	switch ErrorCode(err) {
	case CodeUnavailable, CodeNoLeader, CodeTimeout, CodeInternal:
		return true
	case CodeNotFound:
		return cur.index > 0
	}
	return false
}

// at returns a copy of c that talks to base.
func (c *Client) at(base *url.URL) *Client {
	cc := *c
	cc.base = base
	return &cc
}

// learnServers adds the API addresses of the cluster's servers (as this server lists them) to
// known, after the configured ones. An address a TLS client may not use in clear is left out;
// a server that cannot list them (an older release) adds nothing.
func (c *Client) learnServers(ctx context.Context, known []*url.URL) []*url.URL {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cc := *c
	cc.retryFor = -1
	l, err := cc.Servers(lctx)
	if err != nil {
		return known
	}
	seen := map[string]bool{}
	for _, u := range known {
		seen[u.String()] = true
	}
	for _, s := range l.Servers {
		if s.HTTPAddr == "" {
			continue
		}
		u, err := parseAddress(s.HTTPAddr, c.tls != nil)
		if err != nil || seen[u.String()] {
			continue
		}
		seen[u.String()] = true
		known = append(known, u)
	}
	return known
}
