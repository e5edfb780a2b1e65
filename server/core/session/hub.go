// Package session is the server side of the agent protocol (see pkg/agentproto): it holds the
// websocket sessions of the agents connected to this server and carries work to them by kind.
// Each kind of work (Work) belongs to a service, which says what a host should run, builds the
// message that starts it, and checks and commits what agents report on it; the hub pushes every
// connected host its work as soon as the replicated state has it, queues the reports that arrive
// and hands them to their kind in batches, and tells agents to cancel what ended for them.
package session

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
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
	work    []Work
	byKind  map[string]Work

	mu       sync.Mutex
	sessions map[string]*conn // by host id
}

type report struct {
	c    *conn
	work Work
	body any // what work.Check returned
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
	return &Hub{cfg: cfg, cluster: cluster, state: st, log: cfg.Logger, byKind: map[string]Work{},
		reports: make(chan report, maxReportBatch), wake: make(chan struct{}, 1), sessions: map[string]*conn{}}
}

// AddWork adds a kind of work. Call it before Run and before any session is served. It panics
// when the kind is already another work's (reports are routed by kind): such a build must not
// start.
func (h *Hub) AddWork(w Work) {
	if _, ok := h.byKind[w.Kind()]; ok {
		panic("session: work kind " + w.Kind() + " is added twice")
	}
	h.byKind[w.Kind()] = w
	h.work = append(h.work, w)
}

// kinds lists the kinds of work this hub dispatches, announced to agents in Hello.
func (h *Hub) kinds() []string {
	out := make([]string, 0, len(h.work))
	for _, w := range h.work {
		out = append(out, w.Kind())
	}
	return out
}

// Timeouts are the bounds on a silent host (Config.HostTimeout) and on a host that does not
// start its next lifecycle event (Config.EventStartTimeout), for the services' leader tasks
// that fail such hosts' work.
func (h *Hub) Timeouts() (host, eventStart time.Duration) {
	return h.cfg.HostTimeout, h.cfg.EventStartTimeout
}

func (h *Hub) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run dispatches work and commits reports until ctx ends (a background task of every server).
// Host liveness is watched by the services that own the work, on the leader only.
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

// dispatchLoop pushes every pending item of work of every connected host that this session has
// not been sent yet, and closes the sessions of hosts that were deleted, each time the state moves
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
		type start struct {
			typ  string
			body any
		}
		starts := map[string]start{} // each item built once per round
		for _, c := range conns {
			if !tx.HostExists(c.host.ID) {
				h.log.Info("host deleted; closing its session", "host", c.host.Name)
				c.closeWith(websocket.ClosePolicyViolation, "host deleted: give the agent a fresh identity and a new registration token")
				continue
			}
			for _, w := range h.work {
				pending := w.Pending(tx, c.host.ID)
				h.cancelEnded(tx, c, w.Kind(), pending)
				if len(pending) > 0 && !c.accepts(w.Kind()) {
					c.cannotRun(h.log, w.Kind())
					continue
				}
				for _, id := range pending {
					key := w.Kind() + "/" + id
					if c.wasSent(key) {
						continue
					}
					st, ok := starts[key]
					if !ok {
						typ, body, err := w.Start(tx, id)
						if err != nil {
							continue
						}
						st = start{typ, body}
						starts[key] = st
					}
					if c.sendMsg(st.typ, st.body) {
						c.markSent(key)
					}
				}
			}
		}
		return nil
	})
}

// cancelEnded tells the agent to cancel each item of kind this session was sent that has ended
// for its host since (pending no longer lists it and no work has it active: its deployment was
// stopped or failed, or the host finished it), and forgets it, so each is cancelled once per
// session. It runs in every dispatch round, which follows each applied entry, so a stop reaches a
// running host as soon as this server has applied it, not with the agent's next heartbeat. An
// agent ignores a cancel of work it is not running.
func (h *Hub) cancelEnded(tx *state.Tx, c *conn, kind string, pending []string) {
	for _, id := range c.sentOf(kind) {
		if slices.Contains(pending, id) || h.active(tx, c.host.ID, id) {
			continue
		}
		if c.sendMsg(agentproto.TypeCancel, agentproto.Cancel{Kind: agentproto.WireKind(kind), DeploymentID: id,
			Reason: "this host's part of the work has ended: stopped or failed"}) {
			c.forget(kind + "/" + id)
		}
	}
}

// receive queues a report message for the work it reports on (its kind field; none means a
// deployment, as protocol 1 sent them), once that work has checked it. A report of a kind this
// server has no work for is refused: logged, never acknowledged, never taken for another kind's.
// Messages of a type the kind does not report with are ignored.
func (h *Hub) receive(c *conn, env agentproto.Envelope) {
	var head struct {
		Kind         string `json:"kind"`
		DeploymentID string `json:"deployment_id"`
		Seq          uint64 `json:"seq"`
	}
	if json.Unmarshal(env.Body, &head) != nil {
		return
	}
	kind := agentproto.KindOf(head.Kind)
	w, ok := h.byKind[kind]
	if !ok {
		c.warnings.warn(time.Now(), "agent sent a report of a kind this server does not take; refused (not acknowledged)",
			"report", env.Type, "kind", state.Shorten(kind), "id", state.Shorten(head.DeploymentID), "seq", head.Seq)
		return
	}
	if !slices.Contains(w.Reports(), env.Type) {
		return
	}
	body, ok := w.Check(env.Type, env.Body, func(msg string, attrs ...any) { c.warnings.warn(time.Now(), msg, attrs...) })
	if ok {
		h.queue(c, report{c: c, work: w, body: body})
	}
}

// active reports whether any work still has item id for a host.
func (h *Hub) active(tx *state.Tx, hostID, id string) bool {
	for _, w := range h.work {
		if w.Active(tx, hostID, id) {
			return true
		}
	}
	return false
}

// maxReportBatch bounds the reports queued and committed together. A work groups a batch's
// reports per host into one command each, so the batch must hold a burst of every host at
// once: with a smaller queue, a fleet reporting together fills it, each host's next report
// waits behind every other host's, and each report becomes a command of its own.
const maxReportBatch = 1 << 16

// reportLoop takes the reports that arrive together as one batch and commits it (commit).
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
		for len(batch) < maxReportBatch {
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

// commit hands each kind of work its reports of the batch, in arrival order, and waits until
// every kind has committed (or given up on) them.
func (h *Hub) commit(ctx context.Context, batch []report) {
	byKind := map[string][]Report{}
	var order []Work
	for _, r := range batch {
		k := r.work.Kind()
		if _, ok := byKind[k]; !ok {
			order = append(order, r.work)
		}
		byKind[k] = append(byKind[k], Report{HostID: r.c.host.ID, Body: r.body, reply: r.c.sendMsg})
	}
	var wg sync.WaitGroup
	for _, w := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Commit(ctx, byKind[w.Kind()])
		}()
	}
	wg.Wait()
}
