// Package session is the agent side of the agent protocol (see pkg/agentproto): one outbound
// websocket to any server, heartbeats, reconnection with jittered backoff across every known
// server, work started as it is pushed (by kind, each kind with its Worker), and reports
// delivered at least once from a durable outbox.
package session

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Config configures a Client.
type Config struct {
	Servers []string // HTTP base URLs; replaced by what servers announce
	Secret  string   // the host secret
	// Workers run the work servers push, one per kind; the agent advertises exactly their kinds.
	Workers []Worker
	Outbox  *Outbox
	Logger  *slog.Logger
	// OnServers is called when a server announces the current server list (to persist it).
	OnServers func([]string)
	// Trust refuses servers the agent must not talk to, and TLS (Trust.ClientConfig) verifies
	// https servers and presents the host certificate. Both nil: plain HTTP only.
	Trust *Trust
	TLS   *tls.Config
	// EndWorkOnStop makes Run, when ctx ends, stop every worker's running work (Worker.Stop:
	// hooks' process groups terminated, the work reported failed as cancelled) and return once it
	// has ended. For agents embedded in another process (`slipway dev`); a service agent leaves
	// its work running when it stops, and Recover reports it failed on its next start.
	EndWorkOnStop bool
}

// Client keeps the agent's session.
type Client struct {
	cfg Config
	log *slog.Logger

	workers workers
	peer    agentproto.Peer // what the session headers advertise

	mu      sync.Mutex
	servers []string
	current string // the server of the open session, "" between sessions
}

// New returns a client.
func New(cfg Config) *Client {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Client{cfg: cfg, log: cfg.Logger, servers: append([]string(nil), cfg.Servers...),
		workers: newWorkers(cfg.Workers), peer: Peer(cfg.Workers)}
}

// Servers returns the known servers.
func (c *Client) Servers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.servers...)
}

// PreferredServers returns the known servers, the one this agent has its session with first: it
// answered a moment ago, while another in the list may be down and cost a connect timeout.
func (c *Client) PreferredServers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.servers)+1)
	if c.current != "" {
		out = append(out, c.current)
	}
	for _, s := range c.servers {
		if s != c.current {
			out = append(out, s)
		}
	}
	return out
}

// Run keeps a session open until ctx ends. It first has every worker recover the work a
// previous run of the agent left unfinished. Work keeps running across reconnections; it is
// stopped only by a Cancel from the server, by the process ending or, with
// Config.EndWorkOnStop, by ctx ending (Run then returns once the work has ended).
func (c *Client) Run(ctx context.Context) error {
	for _, kind := range c.workers.kinds() {
		c.workers[kind].Recover()
	}
	if c.cfg.EndWorkOnStop {
		defer func() {
			for _, kind := range c.workers.kinds() {
				c.workers[kind].Stop("the agent is stopping")
			}
		}()
	}
	backoff := 500 * time.Millisecond
	// Each agent starts at a random place in the list, so that a fleet spreads its sessions
	// over the servers rather than all opening them with the first.
	first := rand.N(max(len(c.Servers()), 1))
	for i := first; ctx.Err() == nil; i++ {
		servers := c.Servers()
		if len(servers) == 0 {
			return errors.New("no servers known: set servers in the agent configuration")
		}
		srv := servers[i%len(servers)]
		start := time.Now()
		err := c.session(ctx, srv)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // the session ends with an error when the agent stops; that is not a failure
		}
		if time.Since(start) > 30*time.Second {
			backoff = 500 * time.Millisecond
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		c.log.Warn("session ended; reconnecting", "server", srv, "error", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	return nil
}

func wsURL(srv string) string {
	switch {
	case strings.HasPrefix(srv, "https://"):
		return "wss://" + strings.TrimPrefix(srv, "https://")
	case strings.HasPrefix(srv, "http://"):
		return "ws://" + strings.TrimPrefix(srv, "http://")
	}
	return "ws://" + srv
}

func (c *Client) session(ctx context.Context, srv string) error {
	if c.cfg.Trust != nil {
		if err := c.cfg.Trust.CheckURL(srv); err != nil {
			return err
		}
	} else if isHTTPS(srv) && c.cfg.TLS == nil {
		return fmt.Errorf("server %s uses https and this agent cannot verify it: give --ca-pin or --ca-file", srv)
	}
	hdr := http.Header{"Authorization": {"Bearer " + c.cfg.Secret}}
	c.peer.SetHeaders(hdr)
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	dialer := *websocket.DefaultDialer
	dialer.TLSClientConfig = c.cfg.TLS
	ws, resp, err := dialer.DialContext(dctx, wsURL(srv)+"/v1/agent/session", hdr)
	cancel()
	var msg []byte
	if resp != nil && resp.Body != nil {
		msg, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("%s refused the host secret (was the host deleted? then give the agent a fresh identity: delete identity.json in its data dir and start it with a new registration token): %w", srv, err)
		}
		if resp != nil && resp.StatusCode == http.StatusForbidden {
			return fmt.Errorf("%s refused the session (%s): %s", srv, resp.Status, bytes.TrimSpace(msg))
		}
		return err
	}
	defer func() { _ = ws.Close() }()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { <-sctx.Done(); _ = ws.Close() }()

	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var env agentproto.Envelope
	if err := ws.ReadJSON(&env); err != nil {
		return err
	}
	if env.Type != agentproto.TypeHello {
		return fmt.Errorf("%s opened the session with %q instead of hello", srv, env.Type)
	}
	c.cfg.Trust.ConfirmConn(ws.UnderlyingConn()) // the server answered: it proved its certificate
	var hello agentproto.Hello
	if err := json.Unmarshal(env.Body, &hello); err != nil {
		return err
	}
	if len(hello.Servers) > 0 {
		c.mu.Lock()
		c.servers = hello.Servers
		c.mu.Unlock()
		if c.cfg.OnServers != nil {
			c.cfg.OnServers(hello.Servers)
		}
	}
	interval := hello.HeartbeatInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	c.log.Info("session open", "server", srv, "server_id", hello.ServerID, "server_protocol", max(hello.Protocol, 1),
		"server_kinds", hello.Kinds, "agent_protocol", c.peer.Protocol, "agent_kinds", c.peer.Capabilities)
	c.mu.Lock()
	c.current = srv
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.current = ""
		c.mu.Unlock()
	}()

	var wmu sync.Mutex
	write := func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return ws.WriteMessage(websocket.TextMessage, b)
	}
	errc := make(chan error, 3)
	go func() { errc <- c.pump(sctx, write) }()
	go func() { errc <- c.heartbeat(sctx, write, interval) }()
	go func() { errc <- c.read(sctx, ws, interval) }()
	err = <-errc
	stop()
	return err
}

// pump sends every report not yet acknowledged, in order, and sends them again if no
// acknowledgement came for a while.
func (c *Client) pump(ctx context.Context, write func([]byte) error) error {
	sent := c.cfg.Outbox.Acked()
	resend := time.NewTicker(15 * time.Second)
	defer resend.Stop()
	for {
		for _, msgs := range c.cfg.Outbox.Pending(sent) {
			for _, m := range msgs {
				if err := write(m); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.cfg.Outbox.Notify():
		case <-resend.C:
			sent = c.cfg.Outbox.Acked()
		}
	}
}

func (c *Client) heartbeat(ctx context.Context, write func([]byte) error, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		b, _ := agentproto.Encode(agentproto.TypeHeartbeat, c.workers.heartbeat())
		if err := write(b); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) read(ctx context.Context, ws *websocket.Conn, interval time.Duration) error {
	for ctx.Err() == nil {
		_ = ws.SetReadDeadline(time.Now().Add(3*interval + 5*time.Second))
		var env agentproto.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			return err
		}
		c.dispatch(env)
	}
	return ctx.Err()
}

// dispatch hands a server's message to the worker of its kind (or, for an Ack, to the outbox).
// A message of a kind this agent has no worker for is logged and dropped: it is never taken for
// another kind's work, and the session stays open.
func (c *Client) dispatch(env agentproto.Envelope) {
	var ref struct {
		Kind string `json:"kind"`
		ID   string `json:"deployment_id"`
	}
	switch env.Type {
	case agentproto.TypeRun, agentproto.TypeCancel, agentproto.TypeAck:
		if json.Unmarshal(env.Body, &ref) != nil {
			c.log.Warn("server sent a malformed message; ignored", "type", env.Type)
			return
		}
	default:
		return // heartbeats, and types of later versions
	}
	kind := agentproto.KindOf(ref.Kind)
	w, ok := c.workers[kind]
	if !ok {
		c.log.Warn("server sent work of a kind this agent has no worker for; ignored", "type", env.Type, "kind", kind, "id", ref.ID,
			"agent_kinds", c.peer.Capabilities)
		return
	}
	switch env.Type {
	case agentproto.TypeRun:
		if err := w.Start(env.Body); err != nil {
			c.log.Warn("server sent a run this agent cannot use; ignored", "kind", kind, "id", ref.ID, "error", err)
		}
	case agentproto.TypeCancel:
		var cn agentproto.Cancel
		if json.Unmarshal(env.Body, &cn) == nil {
			w.Cancel(cn.DeploymentID, cn.Reason)
		}
	case agentproto.TypeAck:
		var ack agentproto.Ack
		if json.Unmarshal(env.Body, &ack) == nil {
			c.cfg.Outbox.Ack(boxKey(kind, ack.DeploymentID), ack.Seq)
		}
	}
}
