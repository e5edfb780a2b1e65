// Package api serves Slipway's HTTP API (/v1, JSON) on every server node.
//
// Every route is declared once in routes(), with whether it is public and what a token needs to
// call it; the same table builds the mux and drives the test that no route is left without auth.
// Handlers return errors; the edge maps fault codes to HTTP statuses and the JSON error body once.
package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/raftstore"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Cluster is what the API needs from the node's Raft member.
type Cluster interface {
	ID() string
	Apply(ctx context.Context, c *command.Command) (command.Result, error)
	ConsistentRead(ctx context.Context) error
	IsLeader() bool
	Leader() (id, raftAddr, httpAddr string)
	RaftState() string
	Configuration() ([]raftstore.Server, uint64, error)
	RemoveServer(id string) error
	SnapshotSave(ctx context.Context, w io.Writer) error
	SnapshotRestore(ctx context.Context, r io.Reader) error
	AppliedIndex() uint64
	WaitApplied(ctx context.Context, index uint64) error
}

// Config configures the handler.
type Config struct {
	Cluster  Cluster
	State    auth.Reader
	Blobs    Blobs
	Sessions Sessions
	Events   Events
	// HostTimeout is how long a host may be unheard of and still count as online (default 60 s).
	HostTimeout time.Duration
	Logger      *slog.Logger
	Registry    *prometheus.Registry // served at /metrics
	// MaxBodyBytes bounds JSON request bodies (default 1 MiB).
	MaxBodyBytes int64
	// MaxSnapshotBytes bounds snapshot uploads (default 8 GiB).
	MaxSnapshotBytes int64
	// WriteTimeout bounds how long a write waits for the cluster (default 30 s).
	WriteTimeout time.Duration
	// Now is the clock used for token expiry (default time.Now).
	Now func() time.Time
	// MaxHosts is the most hosts the cluster registers (agents.max_hosts; 0: DefaultMaxHosts,
	// negative: no limit, for embedding and tests). It travels in each registration command, so the
	// FSM enforces it the same way on every server.
	MaxHosts int
	// CA is the cluster CA when the server runs TLS (nil otherwise). With its key it signs host
	// certificates at agent registration and renewal; its pin is shown with registration tokens.
	CA *tlsutil.CA
	// HostCertValidity is how long host certificates live (default tlsutil.DefaultHostCertValidity).
	HostCertValidity time.Duration
	// LeaderTransport carries requests proxied to the leader (nil: http.DefaultTransport). With
	// TLS it trusts the cluster CA, verifies the leader as a server and presents this server's
	// certificate.
	LeaderTransport http.RoundTripper
	// Limits bounds what callers can make this server hold (see Limits for the defaults).
	Limits Limits
	// Keyring is the cluster keyring (operator keyring routes).
	Keyring Keyring
}

// DefaultMaxHosts is Config.MaxHosts when none is given.
const DefaultMaxHosts = 10_000

// access says who may call a route.
type access int

const (
	public       access = iota // no token
	anyToken                   // any valid token
	management                 // a management token
	hostSecret                 // an agent's host secret: acts only as that host
	registration               // a registration token: may only register a host
	hostRenewal                // a host secret, with this host's certificate or none: renews it
)

type handlerFunc func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error

type route struct {
	method  string
	pattern string
	access  access
	handle  handlerFunc
}

// Server is the API handler.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	log     *slog.Logger
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	unauth  *semaphore     // requests without a resolved credential (Limits.MaxUnauthenticated)
	streams *streamLimiter // open streams per token (Limits.MaxStreamsPerToken)
	fails   *failLimiter   // failed authentications per address (Limits.AuthFailures)
	limited *prometheus.CounterVec
}

// New returns the API handler.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxSnapshotBytes == 0 {
		cfg.MaxSnapshotBytes = 8 << 30
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.HostTimeout == 0 {
		cfg.HostTimeout = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.MaxHosts == 0:
		cfg.MaxHosts = DefaultMaxHosts
	case cfg.MaxHosts < 0:
		cfg.MaxHosts = 0 // no limit in the command
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	cfg.Limits = cfg.Limits.withDefaults()
	s := &Server{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger,
		unauth:  &semaphore{max: int64(cfg.Limits.MaxUnauthenticated)},
		streams: newStreamLimiter(cfg.Limits.MaxStreamsPerToken),
		fails:   newFailLimiter(cfg.Limits.AuthFailures, cfg.Limits.AuthFailureWindow, cfg.Limits.AuthFailureAddresses, cfg.Now, cfg.Logger)}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "slipway_http_request_seconds", Help: "HTTP request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"route"})
	s.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "slipway_http_limited_total", Help: "Requests refused by a limit: unauthenticated (concurrency), streams (per token), auth_failures (per address), slow_body (read timeouts).",
	}, []string{"limit"})
	unauthInFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "slipway_http_unauthenticated_in_flight", Help: "Requests being served without a resolved credential (limit: limits.max_unauthenticated).",
	}, func() float64 { return float64(s.unauth.inUse.Load()) })
	cfg.Registry.MustRegister(s.reqs, s.latency, s.limited, unauthInFlight)
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		abandonBody(w, r)
		writeError(w, fault.New(fault.NotFound, "no such endpoint: %s %s", r.Method, state.Shorten(r.URL.Path)))
	})
	return s
}

// routes is the one list of every endpoint.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/v1/health", public, s.health},
		{"POST", "/v1/acl/bootstrap", public, s.aclBootstrap},
		{"GET", "/v1/status/leader", anyToken, s.statusLeader},
		{"GET", "/metrics", anyToken, s.metrics},
		{"GET", "/v1/operator/raft", management, s.raftConfiguration},
		{"DELETE", "/v1/operator/raft/peers/{id}", management, s.raftRemovePeer},
		{"GET", "/v1/operator/snapshot", management, s.snapshotSave},
		{"PUT", "/v1/operator/snapshot", management, s.snapshotRestore},
		{"POST", "/v1/tokens", management, s.tokenCreate},
		{"GET", "/v1/tokens", management, s.tokenList},
		{"GET", "/v1/tokens/self", anyToken, s.tokenSelf},
		{"GET", "/v1/tokens/{accessor}", management, s.tokenGet},
		{"DELETE", "/v1/tokens/{accessor}", management, s.tokenRevoke},
		{"POST", "/v1/apps", management, s.appCreate},
		{"GET", "/v1/apps", anyToken, s.appList},
		{"GET", "/v1/apps/{name}", anyToken, s.appGet},
		{"PUT", "/v1/apps/{name}", management, s.appUpdate},
		{"DELETE", "/v1/apps/{name}", management, s.appDelete},
		{"POST", "/v1/apps/{app}/revisions", management, s.revisionPush},
		{"GET", "/v1/apps/{app}/revisions", anyToken, s.revisionList},
		{"GET", "/v1/revisions/{id}", anyToken, s.revisionGet},
		{"GET", "/v1/revisions/{id}/content", anyToken, s.revisionContent},
		{"POST", "/v1/host-tokens", management, s.hostTokenCreate},
		{"GET", "/v1/hosts", anyToken, s.hostList},
		{"GET", "/v1/hosts/{name}", anyToken, s.hostGet},
		{"DELETE", "/v1/hosts/{name}", management, s.hostDelete},
		{"PATCH", "/v1/hosts/{name}/tags", management, s.hostTag},
		{"POST", "/v1/agent/register", registration, s.agentRegister},
		{"GET", "/v1/agent/session", hostSecret, s.agentSession},
		{"GET", "/v1/agent/deployments/{id}/bundle", hostSecret, s.agentBundle},
		{"POST", "/v1/apps/{app}/groups", management, s.groupCreate},
		{"GET", "/v1/apps/{app}/groups", anyToken, s.groupList},
		{"GET", "/v1/apps/{app}/groups/{name}", anyToken, s.groupGet},
		{"PUT", "/v1/apps/{app}/groups/{name}", management, s.groupUpdate},
		{"DELETE", "/v1/apps/{app}/groups/{name}", management, s.groupDelete},
		{"POST", "/v1/deployment-configs", management, s.configCreate},
		{"GET", "/v1/deployment-configs", anyToken, s.configList},
		{"POST", "/v1/deployments", management, s.deploymentCreate},
		{"GET", "/v1/deployments", anyToken, s.deploymentList},
		{"GET", "/v1/deployments/{id}", anyToken, s.deploymentGet},
		{"GET", "/v1/deployments/{id}/logs", anyToken, s.deploymentLogs},
		{"GET", "/v1/deployments/{id}/watch", anyToken, s.deploymentWatch},
		{"POST", "/v1/deployments/{id}/stop", management, s.deploymentStop},
		{"GET", "/v1/events", anyToken, s.events},
		{"GET", "/v1/host-tokens", management, s.hostTokenList},
		{"GET", "/v1/host-tokens/{accessor}", management, s.hostTokenGet},
		{"DELETE", "/v1/host-tokens/{accessor}", management, s.hostTokenRevoke},
		{"POST", "/v1/agent/certificate", hostRenewal, s.agentCertificate},
		{"GET", "/v1/operator/keyring", management, s.keyringGet},
		{"POST", "/v1/operator/keyring/rotate", management, s.keyringRotate},
	}
}

// ServeHTTP bounds the request's body (Limits.BodyReadTimeout, Limits.BodyIdleTimeout) before
// routing, so that every path, unknown ones included, cuts a client that stalls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.boundBody(w, r)
	s.mux.ServeHTTP(w, r)
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Hijack lets websocket upgrades take over the connection.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("connection cannot be taken over")
	}
	if w.code == 0 {
		w.code = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streamed answers (snapshots) reach the client as they are written.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) wrap(rt route) http.Handler {
	name := rt.method + " " + rt.pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("handler panic", "route", name, "panic", p, "stack", string(debug.Stack()))
				if sw.code == 0 {
					writeError(sw, fault.New(fault.Internal, "internal error: the server logged the details"))
				}
			}
			s.reqs.WithLabelValues(name, strconv.Itoa(sw.code)).Inc()
			s.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
		}()
		// A refusal before the handler leaves the body unread: close the connection instead of
		// letting the server wait to drain a body that may never come.
		refuse := func(err error, limit string) {
			abandonBody(w, r)
			if limit != "" {
				s.limited.WithLabelValues(limit).Inc()
			}
			writeError(sw, err)
		}
		if rt.access == public && r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.unauth.tryAcquire() {
				refuse(s.unauthenticatedBusy(), "unauthenticated")
				return
			}
			defer s.unauth.release()
		}
		addr := clientKey(r)
		id, err := s.authenticate(r, rt.access, addr)
		if err != nil {
			limit := ""
			if fault.CodeOf(err) == fault.Unauthorized {
				if wait, global := s.fails.fail(addr); wait > 0 {
					err, limit = s.tooManyFailures(wait, global), "auth_failures"
				}
			} else if fault.CodeOf(err) == fault.Unavailable {
				limit = "unauthenticated"
			}
			refuse(err, limit)
			return
		}
		if rt.access == management && !id.Management() {
			writeError(sw, fault.New(fault.Forbidden, "%s needs a management token; token %q is a %s token", name, id.Token.Name, id.Token.Type))
			return
		}
		if err := rt.handle(sw, r, id); err != nil {
			if sw.code != 0 {
				s.log.Warn("error after the answer started", "route", name, "error", err)
				return
			}
			switch fault.CodeOf(err) {
			case fault.Internal:
				s.log.Error("request failed", "route", name, "error", err)
			case fault.SlowRequest:
				abandonBody(w, r)
				s.limited.WithLabelValues("slow_body").Inc()
			}
			writeError(sw, err)
		}
	})
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && (h[:len(p)] == p || h[:len(p)] == "bearer ") {
		return h[len(p):]
	}
	return ""
}

// RouteInfo describes one endpoint.
type RouteInfo struct {
	Method  string
	Pattern string
	Public  bool // callable without a token
}

// Routes lists every endpoint the handler serves.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		out = append(out, RouteInfo{Method: rt.method, Pattern: rt.pattern, Public: rt.access == public})
	}
	return out
}

// authenticate resolves the request's credentials for a route. A secret this server does not
// know yet is looked up once more after a consistent read: it may have been created through
// another server a moment ago (a token, a registration token, a host that just registered).
// That second lookup is skipped for an address over its failure budget, and counts against
// Limits.MaxUnauthenticated (an Unavailable error when that is full).
func (s *Server) authenticate(r *http.Request, a access, addr netip.Prefix) (*auth.Identity, error) {
	resolve := func() (*auth.Identity, error) {
		switch a {
		case hostSecret, hostRenewal:
			id, err := auth.ResolveHost(s.cfg.State, bearer(r))
			if err != nil {
				return nil, err
			}
			return id, auth.CheckHostCertificate(id.Host, r.TLS, a == hostRenewal)
		case registration:
			return auth.ResolveRegistration(s.cfg.State, bearer(r), s.cfg.Now())
		case anyToken, management:
			return auth.Resolve(s.cfg.State, bearer(r), s.cfg.Now())
		}
		return nil, nil
	}
	id, err := resolve()
	if err == nil || fault.CodeOf(err) == fault.Forbidden || bearer(r) == "" || s.cfg.Cluster.IsLeader() {
		return id, err
	}
	if limited, _ := s.fails.limited(addr); limited {
		return id, err
	}
	if !s.unauth.tryAcquire() {
		return nil, s.unauthenticatedBusy()
	}
	defer s.unauth.release()
	ctx, cancel := contextWithTimeout(r, 5*time.Second)
	defer cancel()
	if s.cfg.Cluster.ConsistentRead(ctx) != nil {
		return id, err
	}
	return resolve()
}
