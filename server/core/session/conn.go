package session

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

const maxMessage = 1 << 20

var upgrader = websocket.Upgrader{
	ReadBufferSize:  32 << 10,
	WriteBufferSize: 32 << 10,
	// Agents are not browsers; the session is authenticated by the host secret header, so a
	// cross-site page cannot open one.
	CheckOrigin: func(*http.Request) bool { return true },
}

// conn is one agent's session.
type conn struct {
	ws   *websocket.Conn
	host state.Host
	// peer is the agent's protocol version and capabilities, from its headers; kept with the
	// session only, never in the replicated state.
	peer agentproto.Peer
	send chan []byte
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	sent map[string]bool // work items ("kind/id") pushed during this session and not cancelled since

	warnings *reportLog // refused and cut reports of this session

	unable sync.Once // logs once that the host has work its agent does not run
}

// accepts reports whether the agent advertised work of kind; the hub sends it no other work.
func (c *conn) accepts(kind string) bool { return c.peer.Can(kind) }

// cannotRun logs, once a session, that the host has work of kind its agent does not run.
func (c *conn) cannotRun(log *slog.Logger, kind string) {
	c.unable.Do(func() {
		log.Warn("host has work its agent does not run; none is sent to it (upgrade or reconfigure the agent)", "host", c.host.Name,
			"kind", kind, "agent_protocol", c.peer.Protocol, "agent_capabilities", c.peer.Capabilities)
	})
}

func (c *conn) wasSent(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[id]
}

func (c *conn) markSent(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[id] = true
}

// forget drops an item ("kind/id") from what this session was sent, once it has been cancelled.
func (c *conn) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sent, id)
}

// sentOf lists the IDs of the items of kind this session was sent and still holds, sorted.
func (c *conn) sentOf(kind string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for key := range c.sent {
		if id, ok := strings.CutPrefix(key, kind+"/"); ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// sendMsg queues a message; it reports false when the session is closing or too far behind
// (the agent gets everything again on its next session).
func (c *conn) sendMsg(typ string, body any) bool {
	b, err := agentproto.Encode(typ, body)
	if err != nil {
		return false
	}
	select {
	case c.send <- b:
		return true
	case <-c.done:
		return false
	default:
		c.close()
		return false
	}
}

// closeWith ends the session with a websocket close frame carrying code and reason.
func (c *conn) closeWith(code int, reason string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.close()
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// ServeSession upgrades an authenticated agent request to its session and serves it until it
// ends. A newer session of the same host replaces an older one. peer is what the agent said of
// itself (agentproto.ParsePeer): the session pushes it only work of the kinds it advertised.
func (h *Hub) ServeSession(w http.ResponseWriter, r *http.Request, host state.Host, servers []string, peer agentproto.Peer) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ws.SetReadLimit(maxMessage)
	c := &conn{ws: ws, host: host, peer: peer, send: make(chan []byte, 256), done: make(chan struct{}), sent: map[string]bool{},
		warnings: &reportLog{log: h.log, host: host.Name, interval: 10 * time.Second}}
	// Hello is queued before the session is registered, where the dispatcher can queue a run:
	// the protocol opens every session with hello.
	c.sendMsg(agentproto.TypeHello, agentproto.Hello{HostID: host.ID, ServerID: h.cluster.ID(), HeartbeatInterval: h.cfg.Heartbeat, Servers: servers,
		Protocol: agentproto.ProtocolVersion, Kinds: h.kinds()})
	h.mu.Lock()
	if old, ok := h.sessions[host.ID]; ok {
		old.close()
	}
	h.sessions[host.ID] = c
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		if h.sessions[host.ID] == c {
			delete(h.sessions, host.ID)
		}
		h.mu.Unlock()
		c.close()
		h.status(host.ID, false, "", nil)
	}()
	h.log.Info("agent connected", "host", host.Name, "address", r.RemoteAddr, "protocol", peer.Protocol,
		"capabilities", peer.Capabilities, "plugins", peer.Plugins)
	h.status(host.ID, true, r.RemoteAddr, peer.Capabilities)
	go c.writeLoop()
	h.kick()
	h.readLoop(c, r.RemoteAddr)
	h.log.Info("agent disconnected", "host", host.Name)
}

func (c *conn) writeLoop() {
	for {
		select {
		case b := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				return
			}
		case <-c.done:
			return
		}
	}
}

func (h *Hub) readLoop(c *conn, addr string) {
	lastStatus := time.Now()
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(3 * h.cfg.Heartbeat))
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var env agentproto.Envelope
		if json.Unmarshal(data, &env) != nil {
			h.log.Warn("agent sent a malformed message; closing its session", "host", c.host.Name)
			return
		}
		switch env.Type {
		case agentproto.TypeHeartbeat:
			var hb agentproto.Heartbeat
			_ = json.Unmarshal(env.Body, &hb)
			c.sendMsg(agentproto.TypeHeartbeat, agentproto.Heartbeat{}) // lets the agent tell a dead server from an idle one
			h.cancelFinished(c, hb.Running)
			h.cancelFinishedWork(c, hb.Work)
			if time.Since(lastStatus) > h.cfg.StatusEvery {
				lastStatus = time.Now()
				go h.status(c.host.ID, true, addr, c.peer.Capabilities)
			}
		default:
			h.receive(c, env)
		}
	}
}

func (h *Hub) queue(c *conn, r report) {
	select {
	case h.reports <- r:
	case <-c.done:
	}
}

// cancelFinished tells the agent to stop deployments it is running that are already over for
// this host (failed by a host timeout while it was cut off).
func (h *Hub) cancelFinished(c *conn, running []string) {
	if len(running) == 0 || !c.accepts(agentproto.KindDeploy) {
		return
	}
	_ = h.state.View(func(tx *state.Tx) error {
		for _, id := range running {
			// An agent runs only scheduled work, so a running deployment that is not active for
			// this host any more has ended for it.
			if !h.active(tx, c.host.ID, id) {
				c.sendMsg(agentproto.TypeCancel, agentproto.Cancel{DeploymentID: id, Reason: "this host's part of the deployment has ended"})
			}
		}
		return nil
	})
}

// cancelFinishedWork tells the agent to cancel the work of kinds other than deployments that it
// says it runs (Heartbeat.Work) and that no work has active for its host any more: a build
// stopped or failed while the agent was cut off, which this session never sent. Kinds the
// session does not take, and more than maxHeartbeatWork items, are ignored.
func (h *Hub) cancelFinishedWork(c *conn, work map[string][]string) {
	if len(work) == 0 {
		return
	}
	n := 0
	_ = h.state.View(func(tx *state.Tx) error {
		for kind, ids := range work {
			if kind == agentproto.KindDeploy || !c.accepts(kind) {
				continue
			}
			for _, id := range ids {
				if n++; n > maxHeartbeatWork {
					return nil
				}
				if !h.active(tx, c.host.ID, id) {
					c.sendMsg(agentproto.TypeCancel, agentproto.Cancel{Kind: agentproto.WireKind(kind), DeploymentID: id,
						Reason: "this host's part of the work has ended: stopped or failed"})
				}
			}
		}
		return nil
	})
}

// maxHeartbeatWork bounds the items of one heartbeat's Work that are looked at.
const maxHeartbeatWork = 64

// status records that a host's session started or ended on this server (best effort: the host
// timeout covers a lost update), with what its agent advertised (caps, when online: the build
// scheduler matches them).
func (h *Hub) status(hostID string, online bool, addr string, caps []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := command.HostStatus{HostID: hostID, Server: h.cluster.ID(), Online: online, Address: addr}
	if online {
		st.Capabilities = caps // an agent advertises at least one kind (agentproto.ParsePeer)
	}
	c, _ := command.New(command.TypeHostStatus, "", time.Now(), st)
	if _, err := h.cluster.Apply(ctx, c); err != nil {
		h.log.Debug("host status not recorded", "host", hostID, "error", err)
	}
}
