// Package session is the server side of the agent protocol (see pkg/agentproto): it holds the
// websocket sessions of the agents connected to this server, pushes them their deployments as
// soon as the replicated state has them, turns their reports into batched Raft commands and
// acknowledges them once committed, and, on the leader, fails the work of hosts that went silent.
package session

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Cluster is what the hub needs from the node's Raft member.
type Cluster interface {
	ID() string
	Apply(ctx context.Context, c *command.Command) (command.Result, error)
	AppliedIndex() uint64
	WaitApplied(ctx context.Context, index uint64) error
}

// Config tunes the hub.
type Config struct {
	// Heartbeat is how often agents send heartbeats (default 10 s); a session silent for three
	// of them is closed.
	Heartbeat time.Duration
	// HostTimeout is how long a host may be unheard of before its in-flight work fails
	// (default 60 s).
	HostTimeout time.Duration
	// StatusEvery is how often a connected host's last-seen time is written to the state
	// (default HostTimeout / 3).
	StatusEvery time.Duration
	// EventStartTimeout bounds how long a scheduled host may go without starting its next
	// lifecycle event before it fails (default 5 minutes, CodeDeploy's bound).
	EventStartTimeout time.Duration
	Logger            *slog.Logger
}

// Hub is this server's set of agent sessions.
type Hub struct {
	cfg     Config
	cluster Cluster
	state   *state.Store
	log     *slog.Logger
	reports chan report
	wake    chan struct{}

	mu       sync.Mutex
	sessions map[string]*conn // by host id
}

type report struct {
	c     *conn
	event *agentproto.Event
	log   *agentproto.Log
}

// New returns a hub; Run must be running for it to dispatch and report.
func New(cfg Config, cluster Cluster, st *state.Store) *Hub {
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 10 * time.Second
	}
	if cfg.HostTimeout == 0 {
		cfg.HostTimeout = 60 * time.Second
	}
	if cfg.EventStartTimeout == 0 {
		cfg.EventStartTimeout = 5 * time.Minute
	}
	if cfg.StatusEvery == 0 {
		cfg.StatusEvery = cfg.HostTimeout / 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Hub{cfg: cfg, cluster: cluster, state: st, log: cfg.Logger,
		reports: make(chan report, 4096), wake: make(chan struct{}, 1), sessions: map[string]*conn{}}
}

func (h *Hub) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run dispatches work and commits reports until ctx ends (a background task of every server).
// Host liveness is watched by WatchSilent, on the leader only.
func (h *Hub) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.dispatchLoop(ctx) }()
	go func() { defer wg.Done(); h.reportLoop(ctx) }()
	wg.Wait()
	h.mu.Lock()
	for _, c := range h.sessions {
		c.close()
	}
	h.mu.Unlock()
}

// dispatchLoop pushes every active deployment of every connected host that this session has not
// been sent yet, and closes the sessions of hosts that were deleted, each time the state moves
// or a session opens. Every server applies a host.delete, so the deleted host's session ends on
// whichever server holds it, as soon as that server has applied the deletion.
func (h *Hub) dispatchLoop(ctx context.Context) {
	for ctx.Err() == nil {
		idx := h.cluster.AppliedIndex()
		h.dispatch()
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		done := make(chan struct{})
		go func() { _ = h.cluster.WaitApplied(wctx, idx+1); close(done) }()
		select {
		case <-done:
		case <-h.wake:
		case <-ctx.Done():
		}
		cancel()
		<-done
	}
}

func (h *Hub) dispatch() {
	h.mu.Lock()
	conns := make([]*conn, 0, len(h.sessions))
	for _, c := range h.sessions {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	if len(conns) == 0 {
		return
	}
	_ = h.state.View(func(tx *state.Tx) error {
		runs := map[string]*state.Deployment{} // each deployment decoded once per round
		for _, c := range conns {
			if !tx.HostExists(c.host.ID) {
				h.log.Info("host deleted; closing its session", "host", c.host.Name)
				c.closeWith(websocket.ClosePolicyViolation, "host deleted: give the agent a fresh identity and a new registration token")
				continue
			}
			for _, id := range tx.ActiveDeploymentsOf(c.host.ID) {
				if !c.accepts(agentproto.KindDeploy) {
					c.cannotRun(h.log, agentproto.KindDeploy)
					break
				}
				if c.wasSent(id) {
					continue
				}
				d, ok := runs[id]
				if !ok {
					dd, err := tx.GetDeployment(id)
					if err != nil {
						continue
					}
					d, runs[id] = &dd, &dd
				}
				run := agentproto.Run{
					DeploymentID: d.ID, App: d.App, Group: d.Group, GroupID: d.GroupID,
					Revision: agentproto.Revision{ID: d.RevisionID, SHA256: d.SHA256, Size: d.Size, Format: d.Format,
						Path: "/v1/agent/deployments/" + d.ID + "/bundle"},
					IgnoreApplicationStopFailures: d.IgnoreApplicationStopFailures,
				}
				if c.sendMsg(agentproto.TypeRun, run) {
					c.markSent(id)
				}
			}
		}
		return nil
	})
}

// reportLoop groups the reports that arrive together into one command per deployment and host
// (several, applied in order, when they are too large for one; see splitReport), and
// acknowledges each once it commits.
func (h *Hub) reportLoop(ctx context.Context) {
	for {
		var batch []report
		select {
		case r := <-h.reports:
			batch = append(batch, r)
		case <-ctx.Done():
			return
		}
	drain:
		for len(batch) < 1024 {
			select {
			case r := <-h.reports:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		h.commit(ctx, batch)
	}
}

type groupKey struct{ dep, host string }

func (h *Hub) commit(ctx context.Context, batch []report) {
	groups := map[groupKey]*command.DeploymentReport{}
	conns := map[groupKey]*conn{}
	var order []groupKey
	for _, r := range batch {
		var dep string
		if r.event != nil {
			dep = r.event.DeploymentID
		} else {
			dep = r.log.DeploymentID
		}
		k := groupKey{dep, r.c.host.ID}
		g, ok := groups[k]
		if !ok {
			g = &command.DeploymentReport{DeploymentID: dep, HostID: r.c.host.ID}
			groups[k] = g
			order = append(order, k)
		}
		conns[k] = r.c
		if r.event != nil {
			g.Events = append(g.Events, *r.event)
		} else {
			g.Logs = append(g.Logs, *r.log)
		}
	}
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One command per part, applied in order: each part continues the sequence where
			// the one before left it, and each acknowledgement covers everything up to it.
			for _, part := range splitReport(groups[k]) {
				c, err := command.New(command.TypeDeploymentReport, "", time.Now(), part)
				if err != nil {
					h.log.Warn("agent report cannot be proposed; the agent will send it again", "deployment", k.dep, "host", k.host, "error", err)
					return
				}
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				res, err := h.cluster.Apply(actx, c)
				cancel()
				if err == nil {
					err = res.Err()
				}
				if err != nil {
					h.log.Warn("agent report not committed; the agent will send it again", "deployment", k.dep, "host", k.host, "error", err)
					return
				}
				var ack agentproto.Ack
				if json.Unmarshal(res.Data, &ack) == nil {
					conns[k].sendMsg(agentproto.TypeAck, ack)
				}
			}
		}()
	}
	wg.Wait()
}

// timeoutLoop, on the leader, fails the unfinished work of hosts unheard of for HostTimeout.
// A new leader first waits HostTimeout itself, so agents have time to find it after an outage.
// WatchSilent is a leader task (ctx ends when leadership is lost): it fails the in-flight work
// of hosts not heard from for the host timeout, and of hosts that did not start their next
// lifecycle event within the event start timeout. Both bounds count from the later of the host's
// last report and the start of this leadership, so a new leader gives every host a full bound.
func (h *Hub) WatchSilent(ctx context.Context) {
	since := time.Now()
	t := time.NewTicker(max(h.cfg.HostTimeout/10, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		type silent struct{ host, dep, name, reason string }
		var dead []silent
		_ = h.state.View(func(tx *state.Tx) error {
			deps := map[string]*state.Deployment{}
			tx.ActiveTargets(func(hostID, depID string) {
				host, err := tx.GetHost(hostID)
				if err != nil {
					return
				}
				last := host.LastSeen
				if since.After(last) {
					last = since
				}
				if now.Sub(last) > h.cfg.HostTimeout {
					dead = append(dead, silent{hostID, depID, host.Name, "host " + host.Name + " was not heard from for " +
						h.cfg.HostTimeout.String() + " (agent stopped, host down or network cut)"})
					return
				}
				d, ok := deps[depID]
				if !ok {
					dd, err := tx.GetDeployment(depID)
					if err != nil {
						return
					}
					d, deps[depID] = &dd, &dd
				}
				if tg, ok := d.Targets[hostID]; ok {
					idle, ok := tg.Idle()
					if since.After(idle) {
						idle = since // a new leader gives every host a full bound
					}
					if ok && now.Sub(idle) > h.cfg.EventStartTimeout {
						dead = append(dead, silent{hostID, depID, host.Name, "host " + host.Name + " did not start its next lifecycle event within " +
							h.cfg.EventStartTimeout.String() + " (is its agent busy with another deployment?)"})
					}
				}
			})
			return nil
		})
		for _, d := range dead {
			reason := d.reason
			c, _ := command.New(command.TypeDeploymentFailHost, "", now, command.DeploymentFailHost{DeploymentID: d.dep, HostID: d.host, Reason: reason})
			if _, err := h.cluster.Apply(ctx, c); err != nil {
				h.log.Warn("could not fail a silent host's deployment", "host", d.name, "deployment", d.dep, "error", err)
			} else {
				h.log.Warn("host timed out; its deployment failed", "host", d.name, "deployment", d.dep)
			}
		}
	}
}
