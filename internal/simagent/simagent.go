// Package simagent runs simulated Slipway agents for benchmarks: each one registers a host with a
// registration token and keeps a real websocket session (GET /v1/agent/session) speaking
// pkg/agentproto, exactly as slipway-agent does on the wire (with Config.RootCAs: over mutual TLS
// with a host certificate of its own, as slipway-agent with a cluster CA), but its hooks do nothing: on each
// Run it reports the whole lifecycle at once, succeeded, and keeps the reports until they are
// acknowledged.
//
// Thousands of agents fit in one process: an agent costs one reader goroutine, a 1 KiB read
// buffer and a shared write-buffer pool; heartbeats and resends of every agent of a fleet are
// sent by one goroutine.
//
// For measurements each agent records, per deployment, when the first Run arrived and when the
// server acknowledged the deployment's last report (DeploymentEnd).
package simagent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// Version is the agent version simulated agents register with.
const Version = "simagent"

// Config configures a fleet.
type Config struct {
	// Servers are the HTTP base URLs of the cluster's servers. Agent i registers with and opens
	// its session on Servers[i % len(Servers)], and moves to the next one if its session ends.
	Servers []string
	// RegistrationToken is the secret of a host registration token.
	RegistrationToken string
	// Tags are sent with every registration (in addition to the token's own).
	Tags map[string]string
	// NamePrefix names the hosts: <prefix>-00001, ... (default "sim").
	NamePrefix string
	// ResendAfter is how long a report may stay unacknowledged before it is sent again (default
	// 15 s, as slipway-agent).
	ResendAfter time.Duration
	// RootCAs, when set, makes the fleet speak TLS as slipway-agent does with a cluster CA: each
	// agent makes its own key, sends a certificate request with its registration, and opens its
	// sessions with mutual TLS, presenting the host certificate the server signed. Servers are
	// verified against RootCAs by the cluster's server name (tlsutil.ServerName).
	RootCAs *x509.CertPool
	// ReadBufferSize and WriteBufferSize size each websocket's buffers (default 1 KiB each; write
	// buffers are pooled across the fleet).
	ReadBufferSize, WriteBufferSize int
}

// Fleet is a set of simulated agents sharing one heartbeat goroutine and one HTTP client.
type Fleet struct {
	cfg    Config
	hc     *http.Client
	dialer *websocket.Dialer
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	notify chan struct{} // signalled whenever some deployment's end is acknowledged
	seq    atomic.Int64  // agents created so far (for names)
	resent atomic.Int64  // reports written again because no acknowledgement came in time

	mu     sync.Mutex
	agents []*Agent // started
	all    []*Agent // started or starting (what Close must stop)
}

// NewFleet returns an empty fleet; Add starts agents.
func NewFleet(cfg Config) (*Fleet, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("simagent: no servers")
	}
	if cfg.RegistrationToken == "" {
		return nil, errors.New("simagent: no registration token")
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "sim"
	}
	if cfg.ResendAfter <= 0 {
		cfg.ResendAfter = 15 * time.Second
	}
	if cfg.ReadBufferSize <= 0 {
		cfg.ReadBufferSize = 1 << 10
	}
	if cfg.WriteBufferSize <= 0 {
		cfg.WriteBufferSize = 1 << 10
	}
	ctx, cancel := context.WithCancel(context.Background())
	var serverTLS *tls.Config
	if cfg.RootCAs != nil {
		serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs, ServerName: tlsutil.ServerName}
	}
	f := &Fleet{
		cfg: cfg,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second, TLSClientConfig: serverTLS,
		}},
		dialer: &websocket.Dialer{
			HandshakeTimeout: 15 * time.Second,
			ReadBufferSize:   cfg.ReadBufferSize,
			WriteBufferSize:  cfg.WriteBufferSize,
			WriteBufferPool:  &sync.Pool{},
		},
		ctx: ctx, cancel: cancel,
		notify: make(chan struct{}, 1),
	}
	f.wg.Add(1)
	go func() { defer f.wg.Done(); f.tickLoop() }()
	return f, nil
}

// Add registers n more agents and opens their sessions, at most parallel at a time, and returns
// once every one of them has been greeted (Hello) by its server.
func (f *Fleet) Add(ctx context.Context, n, parallel int) error {
	if parallel <= 0 {
		parallel = 32
	}
	sem := make(chan struct{}, parallel)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		k := int(f.seq.Add(1))
		a, err := newAgent(f, k)
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.all = append(f.all, a)
		f.mu.Unlock()
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := a.start(ctx); err != nil {
				errc <- fmt.Errorf("agent %s: %w", a.Name, err)
				return
			}
			f.mu.Lock()
			f.agents = append(f.agents, a)
			f.mu.Unlock()
		}()
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
		if len(errs) == 5 {
			break
		}
	}
	return errors.Join(errs...)
}

// Agents returns the running agents.
func (f *Fleet) Agents() []*Agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Agent(nil), f.agents...)
}

// Len returns the number of running agents.
func (f *Fleet) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.agents)
}

// Close ends every session and waits for the agents' goroutines.
func (f *Fleet) Close() {
	f.cancel()
	f.mu.Lock()
	all := append([]*Agent(nil), f.all...)
	f.mu.Unlock()
	for _, a := range all {
		a.closeConn()
	}
	f.wg.Wait()
	f.hc.CloseIdleConnections()
}

// Record is what one agent saw of one deployment.
type Record struct {
	Host string
	// RunAt is when the first Run for the deployment arrived.
	RunAt time.Time
	// Runs counts the Run messages received (more than one: the server pushed it again).
	Runs int
	// EndAckAt is when the server acknowledged the last report (DeploymentEnd); zero until then.
	EndAckAt time.Time
	// Server is the base URL of the server whose session delivered the first Run.
	Server string
}

// Records returns, for every agent that received a Run of deployment id, what it saw.
func (f *Fleet) Records(id string) []Record {
	var out []Record
	for _, a := range f.Agents() {
		if r, ok := a.Record(id); ok {
			out = append(out, r)
		}
	}
	return out
}

// Done returns a channel that receives a value (at most one is buffered) whenever any agent's
// deployment end is acknowledged; use it with Records to wait for a rollout without polling the
// cluster.
func (f *Fleet) Done() <-chan struct{} { return f.notify }

// EndAcked counts the agents whose DeploymentEnd for deployment id is acknowledged.
func (f *Fleet) EndAcked(id string) int {
	n := 0
	for _, a := range f.Agents() {
		if r, ok := a.Record(id); ok && !r.EndAckAt.IsZero() {
			n++
		}
	}
	return n
}

// Resent counts the reports sent again so far because their acknowledgement did not come within
// ResendAfter (or a session was replaced).
func (f *Fleet) Resent() int64 { return f.resent.Load() }

// tickLoop sends every agent's heartbeat when it is due and resends reports left unacknowledged.
func (f *Fleet) tickLoop() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		for _, a := range f.Agents() {
			if f.ctx.Err() != nil {
				return
			}
			a.tick(now)
		}
	}
}

func (f *Fleet) signal() {
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// Agent is one simulated agent (one host).
type Agent struct {
	f      *Fleet
	HostID string
	Name   string
	secret string
	server int         // index in Config.Servers of the current session's server
	tls    *tls.Config // mutual TLS with the host certificate (nil without Config.RootCAs)

	wmu sync.Mutex // one writer at a time on ws
	mu  sync.Mutex
	ws  *websocket.Conn
	// heartbeat interval announced by the server and when the next heartbeat is due
	interval time.Duration
	nextBeat time.Time
	deps     map[string]*deployment
}

// deployment is one Run as the agent keeps it.
type deployment struct {
	runAt    time.Time
	runs     int
	server   string
	msgs     [][]byte // encoded reports, msgs[i] has Seq i+1; dropped once all are acknowledged
	last     uint64   // seq of the last report (DeploymentEnd)
	acked    uint64
	sentAt   time.Time // when unacknowledged reports were last written
	endAckAt time.Time
}

func newAgent(f *Fleet, k int) (*Agent, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &Agent{
		f:      f,
		HostID: uuid.NewString(),
		Name:   fmt.Sprintf("%s-%05d", f.cfg.NamePrefix, k),
		secret: hex.EncodeToString(b[:]),
		server: (k - 1) % len(f.cfg.Servers),
		deps:   map[string]*deployment{},
	}, nil
}

// Record returns what the agent saw of deployment id.
func (a *Agent) Record(id string) (Record, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.deps[id]
	if !ok {
		return Record{}, false
	}
	return Record{Host: a.Name, RunAt: d.runAt, Runs: d.runs, EndAckAt: d.endAckAt, Server: d.server}, true
}

// start registers the host and opens its first session.
func (a *Agent) start(ctx context.Context) error {
	if err := a.register(ctx); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = a.connect(ctx); err == nil {
			break
		}
		a.server = (a.server + 1) % len(a.f.cfg.Servers)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	if err != nil {
		return err
	}
	a.f.wg.Add(1)
	go func() { defer a.f.wg.Done(); a.readLoop() }()
	return nil
}

func (a *Agent) register(ctx context.Context) error {
	reg := agentproto.Register{
		HostID: a.HostID, Secret: a.secret, Name: a.Name, Tags: a.f.cfg.Tags,
		Hostname: a.Name, OS: runtime.GOOS, Arch: runtime.GOARCH, AgentVersion: Version,
	}
	var key *ecdsa.PrivateKey
	if a.f.cfg.RootCAs != nil {
		var err error
		if key, err = tlsutil.NewKey(); err != nil {
			return err
		}
		csr, err := tlsutil.NewCSR(key, a.HostID)
		if err != nil {
			return err
		}
		reg.CSR = string(csr)
	}
	body, err := json.Marshal(reg)
	if err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		srv := a.f.cfg.Servers[(a.server+attempt)%len(a.f.cfg.Servers)]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(srv, "/")+"/v1/agent/register", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+a.f.cfg.RegistrationToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := a.f.hc.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				var rep agentproto.RegisterReply
				if err := json.Unmarshal(msg, &rep); err != nil {
					return fmt.Errorf("register: %w", err)
				}
				if key != nil {
					return a.useCertificate(rep.Certificate, key)
				}
				return nil
			}
			lastErr = fmt.Errorf("register: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
			if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
				return lastErr
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return lastErr
}

func wsURL(srv string) string {
	srv = strings.TrimSuffix(srv, "/")
	switch {
	case strings.HasPrefix(srv, "https://"):
		return "wss://" + strings.TrimPrefix(srv, "https://")
	case strings.HasPrefix(srv, "http://"):
		return "ws://" + strings.TrimPrefix(srv, "http://")
	}
	return "ws://" + srv
}

// useCertificate keeps the host certificate the server signed for the agent's key, for its
// sessions' mutual TLS.
func (a *Agent) useCertificate(certPEM string, key *ecdsa.PrivateKey) error {
	if certPEM == "" {
		return errors.New("register: the server issued no host certificate (does it run TLS with --tls-ca-key-file?)")
	}
	cert := tls.Certificate{PrivateKey: key}
	certs, err := tlsutil.ParseCerts([]byte(certPEM))
	if err != nil {
		return fmt.Errorf("register: host certificate: %w", err)
	}
	for _, c := range certs {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	cert.Leaf = certs[0]
	a.tls = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: a.f.cfg.RootCAs, ServerName: tlsutil.ServerName, Certificates: []tls.Certificate{cert}}
	return nil
}

// connect opens a session on the agent's current server and waits for Hello.
func (a *Agent) connect(ctx context.Context) error {
	srv := a.f.cfg.Servers[a.server]
	hdr := http.Header{"Authorization": {"Bearer " + a.secret}}
	dialer := a.f.dialer
	if a.tls != nil {
		d := *a.f.dialer
		d.TLSClientConfig = a.tls
		dialer = &d
	}
	ws, resp, err := dialer.DialContext(ctx, wsURL(srv)+"/v1/agent/session", hdr)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("session on %s: %w", srv, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var env agentproto.Envelope
	if err := ws.ReadJSON(&env); err != nil {
		_ = ws.Close()
		return fmt.Errorf("session on %s: %w", srv, err)
	}
	var hello agentproto.Hello
	if env.Type != agentproto.TypeHello || json.Unmarshal(env.Body, &hello) != nil {
		_ = ws.Close()
		return fmt.Errorf("session on %s opened with %q instead of hello", srv, env.Type)
	}
	interval := hello.HeartbeatInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	a.mu.Lock()
	a.ws, a.interval = ws, interval
	// The first heartbeat goes at once, as slipway-agent's does; spread over the interval after.
	a.nextBeat = time.Now()
	a.mu.Unlock()
	if a.f.ctx.Err() != nil { // closed while connecting
		_ = ws.Close()
		return a.f.ctx.Err()
	}
	a.resendAll()
	return nil
}

func (a *Agent) closeConn() {
	a.mu.Lock()
	ws := a.ws
	a.mu.Unlock()
	if ws != nil {
		_ = ws.Close()
	}
}

// write sends one message on the current session.
func (a *Agent) write(b []byte) error {
	a.mu.Lock()
	ws := a.ws
	a.mu.Unlock()
	if ws == nil {
		return errors.New("no session")
	}
	a.wmu.Lock()
	defer a.wmu.Unlock()
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteMessage(websocket.TextMessage, b)
}

// readLoop serves the session, and opens a new one (on the next server, with backoff) whenever
// it ends, until the fleet closes.
func (a *Agent) readLoop() {
	backoff := 500 * time.Millisecond
	for {
		a.mu.Lock()
		ws, interval := a.ws, a.interval
		a.mu.Unlock()
		err := a.serve(ws, interval)
		_ = ws.Close()
		if a.f.ctx.Err() != nil {
			return
		}
		_ = err // the session ended (server stopped, deadline); reconnect as slipway-agent does
		for a.f.ctx.Err() == nil {
			a.server = (a.server + 1) % len(a.f.cfg.Servers)
			select {
			case <-a.f.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			if a.connect(a.f.ctx) == nil {
				backoff = 500 * time.Millisecond
				break
			}
		}
	}
}

func (a *Agent) serve(ws *websocket.Conn, interval time.Duration) error {
	for {
		_ = ws.SetReadDeadline(time.Now().Add(3*interval + 5*time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		var env agentproto.Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			return err
		}
		switch env.Type {
		case agentproto.TypeRun:
			var run agentproto.Run
			if json.Unmarshal(env.Body, &run) == nil && run.DeploymentID != "" {
				a.run(run)
			}
		case agentproto.TypeAck:
			var ack agentproto.Ack
			if json.Unmarshal(env.Body, &ack) == nil {
				a.ack(ack)
			}
		case agentproto.TypeCancel, agentproto.TypeHeartbeat, agentproto.TypeHello:
			// Deployments finish at once, so there is nothing to cancel; a heartbeat answer only
			// proves the server alive, which the read deadline already covers.
		}
	}
}

// Events returns the reports slipway-agent sends for a deployment whose every hook succeeds
// without a load balancer step: each event of appspec.Events in order, started then succeeded
// (the traffic events, which need a load balancer step, reported skipped), then DeploymentEnd
// succeeded. Seq numbers start at 1.
func Events(deploymentID string, now time.Time) []agentproto.Event {
	var out []agentproto.Event
	add := func(ev agentproto.Event) {
		ev.DeploymentID, ev.Seq, ev.Time = deploymentID, uint64(len(out)+1), now
		out = append(out, ev)
	}
	for _, e := range appspec.Events {
		if e.Traffic {
			add(agentproto.Event{Event: e.Name, Status: agentproto.StatusSkipped, Message: "no load balancer step in this deployment"})
			continue
		}
		add(agentproto.Event{Event: e.Name, Status: agentproto.StatusStarted})
		add(agentproto.Event{Event: e.Name, Status: agentproto.StatusSucceeded})
	}
	add(agentproto.Event{Event: agentproto.DeploymentEnd, Status: agentproto.StatusSucceeded})
	return out
}

// run handles a Run: the first one of a deployment reports its whole lifecycle at once; a Run
// of a deployment already reported is only counted (its unacknowledged reports are resent by
// the tick loop, as slipway-agent resends from its outbox).
func (a *Agent) run(run agentproto.Run) {
	now := time.Now()
	a.mu.Lock()
	d, ok := a.deps[run.DeploymentID]
	if ok {
		d.runs++
		a.mu.Unlock()
		return
	}
	d = &deployment{runAt: now, runs: 1, sentAt: now, server: a.f.cfg.Servers[a.server]}
	for _, ev := range Events(run.DeploymentID, now) {
		b, err := agentproto.Encode(agentproto.TypeEvent, ev)
		if err != nil {
			continue
		}
		d.msgs = append(d.msgs, b)
	}
	d.last = uint64(len(d.msgs))
	msgs := d.msgs
	a.deps[run.DeploymentID] = d
	a.mu.Unlock()
	for _, m := range msgs {
		if a.write(m) != nil {
			return // the session is ending; everything is resent on the next one
		}
	}
}

func (a *Agent) ack(ack agentproto.Ack) {
	a.mu.Lock()
	d, ok := a.deps[ack.DeploymentID]
	if !ok || ack.Seq <= d.acked {
		a.mu.Unlock()
		return
	}
	d.acked = ack.Seq
	done := d.acked >= d.last && d.endAckAt.IsZero()
	if done {
		d.endAckAt = time.Now()
		d.msgs = nil
	}
	a.mu.Unlock()
	if done {
		a.f.signal()
	}
}

// unacked returns the reports of d after the acknowledged ones (a.mu held).
func (d *deployment) unacked() [][]byte {
	if d.acked >= d.last {
		return nil
	}
	return d.msgs[d.acked:]
}

// resendAll sends every unacknowledged report again, on a new session.
func (a *Agent) resendAll() {
	now := time.Now()
	var msgs [][]byte
	a.mu.Lock()
	for _, d := range a.deps {
		if u := d.unacked(); len(u) > 0 {
			msgs = append(msgs, u...)
			d.sentAt = now
		}
	}
	a.mu.Unlock()
	a.f.resent.Add(int64(len(msgs)))
	for _, m := range msgs {
		if a.write(m) != nil {
			return
		}
	}
}

// tick sends a heartbeat when due and resends reports unacknowledged for ResendAfter.
func (a *Agent) tick(now time.Time) {
	var msgs [][]byte
	a.mu.Lock()
	if a.ws == nil {
		a.mu.Unlock()
		return
	}
	beat := !now.Before(a.nextBeat)
	if beat {
		a.nextBeat = now.Add(a.interval)
	}
	for _, d := range a.deps {
		if u := d.unacked(); len(u) > 0 && now.Sub(d.sentAt) >= a.f.cfg.ResendAfter {
			msgs = append(msgs, u...)
			d.sentAt = now
		}
	}
	a.mu.Unlock()
	a.f.resent.Add(int64(len(msgs)))
	if beat {
		b, _ := agentproto.Encode(agentproto.TypeHeartbeat, agentproto.Heartbeat{})
		if a.write(b) != nil {
			return
		}
	}
	for _, m := range msgs {
		if a.write(m) != nil {
			return
		}
	}
}
