// Package api serves Slipway's HTTP API (/v1, JSON) on every server node.
//
// Every route is a Route, with whether it is public and what a token needs to call it: the
// core's own (coreRoutes) and the services' (Config.Routes, collected by module.Registry).
// routes() joins them into the one table that builds the mux and drives the test that no route
// is left without auth. Handlers return errors; the edge maps fault codes to HTTP statuses and
// the JSON error body once.
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

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fleet"
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

// Blobs is what the API needs from the blob store.
type Blobs interface {
	// Open returns the blob's plaintext, seekable (decrypted chunk by chunk as read).
	Open(ctx context.Context, sha string) (io.ReadSeekCloser, state.Blob, error)
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
	// RevisionNames names the keys of hosts' current revisions (Host.Revisions, keyed by the
	// IDs the service that deploys them chose) for the hosts API: "app/group" for a deployment
	// group's ID. nil shows the keys as they are.
	RevisionNames func(tx *state.Tx) map[string]string
	// SecretEventKinds are the services' event kinds (the part of a command's name before the dot)
	// that only management tokens may watch on /v1/events: "token" and "acl" for token changes.
	SecretEventKinds []string
	// Routes are the services' routes, served next to the core's own. Each must pass
	// Route.Check, and no method and pattern may be declared twice.
	Routes []Route
	// Policies supplies a token's policies, which decide every AnyToken and Management route by
	// its Action and Resource (nil: TokenTypePolicies, today's two token types).
	Policies Policies
	// Audit takes the audit records of denied requests and of activity (audit.go; nil: none).
	Audit Auditor
}

// DefaultMaxHosts is Config.MaxHosts when none is given.
const DefaultMaxHosts = 10_000

// Access says who may call a route.
type Access int

// Access levels: which kind of credential a route takes at all. On AnyToken and Management
// routes the caller's policies then decide by Route.Action and Route.Resource (authorize.go);
// Management stays a coarse gate after them (only a management token passes it).
const (
	Public       Access = iota // no token
	AnyToken                   // any valid token
	Management                 // a management token
	HostSecret                 // an agent's host secret: acts only as that host
	Registration               // a registration token: may only register a host
	HostRenewal                // a host secret, with this host's certificate or none: renews it
	Console                    // the web console: a signed-in user's session cookie (console.go)
	// GitBasic is git over smart HTTP (gitbasic.go): the token secret is the password of HTTP
	// basic authentication (any user name), resolved as a bearer secret is (auth.Resolve: a
	// personal access token, a session token or a management token). A missing or wrong
	// credential is answered 401 with WWW-Authenticate, so git asks its credential helper.
	// Policies then decide the route by Action and Resource as for AnyToken, unless the route
	// authorizes in its handler (Route.HandlerAuthorizes).
	GitBasic
)

// HandlerFunc serves one route for an authenticated caller (id is nil on public routes). An error
// it returns before writing is answered once, at the edge: its fault code picks the status.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error

// Route is one endpoint. Action names what it does ("codedeploy:CreateDeployment": service, then verb
// and resource kind, as IAM actions do) and Resource the resource it acts on, a pattern over the
// path's values ("app/{app}/group/{name}", each placeholder a wildcard of Pattern); both are
// required on every route that takes a credential. Policies authorize AnyToken and Management
// routes by them; the host and registration levels keep their own rules.
type Route struct {
	Method   string
	Pattern  string
	Access   Access
	Action   string
	Resource string
	Handle   HandlerFunc
	// ResolveResource, when set, names the resource of a route whose resource is not in its
	// path: a deployment read by ID is its group's, a deployment created from a body is the
	// group the body names. The edge calls it before authorizing (r's body may be read with
	// Kit.PeekJSON; the handler still reads it whole); Resource stays the declared pattern the
	// answer is one of. Its error is answered as it is (a 400 for a body that is not JSON).
	ResolveResource func(r *http.Request) (string, error)
	// RenderError, when set, answers the route's errors (the edge's refusals and the handler's)
	// instead of the JSON error body: the console's HTML error page. status is the one the
	// JSON answer would have.
	RenderError func(w http.ResponseWriter, r *http.Request, status int, err error)
	// HandlerAuthorizes, on a GitBasic route, leaves the policy decision to the handler, which
	// must call Kit.Authorize before it acts: for requests whose authorization depends on what
	// the body holds (a git push is decided per ref, with slipway:ReferenceName). The edge still
	// authenticates, resolves Resource and marks the request audited under Action (activity
	// and the command caller) without deciding it.
	HandlerAuthorizes bool
}

// Check reports what is missing from a route's declaration.
func (rt Route) Check() error {
	if rt.Method == "" || rt.Pattern == "" || rt.Handle == nil {
		return fmt.Errorf("route %s %s: method, pattern and handler are required", rt.Method, rt.Pattern)
	}
	if rt.Access != Public && (rt.Action == "" || rt.Resource == "") {
		return fmt.Errorf("route %s %s: a route that takes a credential declares its action and resource", rt.Method, rt.Pattern)
	}
	if rt.HandlerAuthorizes && rt.Access != GitBasic {
		return fmt.Errorf("route %s %s: only a GitBasic route may authorize in its handler", rt.Method, rt.Pattern)
	}
	if rt.Resource != "" {
		if _, err := parseResource(rt.Resource, rt.Pattern); err != nil {
			return fmt.Errorf("route %s %s: %w", rt.Method, rt.Pattern, err)
		}
	}
	return nil
}

// routeEntry is a route as served: its declaration and its resource template, parsed once.
type routeEntry struct {
	Route
	resource resourceTemplate
}

// Server is the API handler.
type Server struct {
	rids    *requestIDs
	cfg     Config
	mux     *http.ServeMux
	log     *slog.Logger
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	unauth  *semaphore     // requests without a resolved credential (Limits.MaxUnauthenticated)
	streams *streamLimiter // open streams per token (Limits.MaxStreamsPerToken)
	fails   *failLimiter   // failed authentications per address (Limits.AuthFailures)
	limited *prometheus.CounterVec
	hosts   *fleet.Hosts              // the hosts' Go API (host.go)
	tokens  *fleet.RegistrationTokens // the registration tokens' Go API (host.go)
	entries map[string]*routeEntry    // by "METHOD pattern"
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
	if cfg.Policies == nil {
		cfg.Policies = TokenTypePolicies{}
	}
	if cfg.Audit == nil {
		cfg.Audit = NopAuditor{}
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	cfg.Limits = cfg.Limits.withDefaults()
	hosts, tokens := newFleet(cfg)
	s := &Server{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger, rids: newRequestIDs(),
		unauth:  &semaphore{max: int64(cfg.Limits.MaxUnauthenticated)},
		streams: newStreamLimiter(cfg.Limits.MaxStreamsPerToken),
		fails:   newFailLimiter(cfg.Limits.AuthFailures, cfg.Limits.AuthFailureWindow, cfg.Limits.AuthFailureAddresses, cfg.Now, cfg.Logger),
		hosts:   hosts,
		tokens:  tokens,
		entries: map[string]*routeEntry{}}
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
	seen := map[string]bool{}
	for _, rt := range s.routes() {
		if err := rt.Check(); err != nil {
			panic("api: " + err.Error())
		}
		if seen[rt.Method+" "+rt.Pattern] {
			panic("api: route " + rt.Method + " " + rt.Pattern + " is declared twice")
		}
		seen[rt.Method+" "+rt.Pattern] = true
		tmpl, _ := parseResource(rt.Resource, rt.Pattern) // Check parsed it
		e := &routeEntry{Route: rt, resource: tmpl.qualified(rt.Action)}
		s.entries[rt.Method+" "+rt.Pattern] = e
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(e))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		abandonBody(w, r)
		writeError(w, fault.New(fault.NotFound, "no such endpoint: %s %s", r.Method, state.Shorten(r.URL.Path)))
	})
	return s
}

// routes is the one list of every endpoint: the core's, then the services'.
func (s *Server) routes() []Route {
	return append(s.coreRoutes(), s.cfg.Routes...)
}

// coreRoute is a core route's declaration, written positionally.
type coreRoute struct {
	Method, Pattern  string
	Access           Access
	Action, Resource string
	Handle           HandlerFunc
}

func (s *Server) coreRoutes() []Route {
	var out []Route
	for _, c := range s.coreRouteTable() {
		out = append(out, Route{Method: c.Method, Pattern: c.Pattern, Access: c.Access, Action: c.Action, Resource: c.Resource, Handle: c.Handle})
	}
	return out
}

func (s *Server) coreRouteTable() []coreRoute {
	return []coreRoute{
		{"GET", "/v1/health", Public, "", "", s.health},
		{"GET", "/v1/status/leader", AnyToken, "operator:GetStatus", "cluster", s.statusLeader},
		{"GET", "/v1/status/servers", AnyToken, "operator:GetStatus", "cluster", s.statusServers},
		{"GET", "/metrics", AnyToken, "operator:GetMetrics", "cluster", s.metrics},
		{"GET", "/v1/operator/raft", Management, "operator:GetRaftConfiguration", "cluster", s.raftConfiguration},
		{"DELETE", "/v1/operator/raft/peers/{id}", Management, "operator:RemoveRaftPeer", "peer/{id}", s.raftRemovePeer},
		{"GET", "/v1/operator/snapshot", Management, "operator:SaveSnapshot", "cluster", s.snapshotSave},
		{"PUT", "/v1/operator/snapshot", Management, "operator:RestoreSnapshot", "cluster", s.snapshotRestore},
		{"POST", "/v1/host-tokens", Management, "hosts:CreateRegistrationToken", "host-token/*", hostsAPI{s}.hostTokenCreate},
		{"GET", "/v1/hosts", AnyToken, "hosts:ListHosts", "host/*", List(s.Kit(), hostsAPI{s}.hostList, func(l []pub.Host, next string) pub.HostList {
			return pub.HostList{Hosts: l, Next: next}
		})},
		{"GET", "/v1/hosts/{name}", AnyToken, "hosts:GetHost", "host/{name}", Get(s.Kit(), hostsAPI{s}.hostGet)},
		{"DELETE", "/v1/hosts/{name}", Management, "hosts:DeleteHost", "host/{name}", Remove(s.Kit(), hostsAPI{s}.hostDelete)},
		{"PATCH", "/v1/hosts/{name}/tags", Management, "hosts:TagHost", "host/{name}", Write(s.Kit(), http.StatusOK, hostsAPI{s}.hostTag)},
		{"POST", "/v1/agent/register", Registration, "agent:Register", "host/*", s.agentRegister},
		{"GET", "/v1/agent/session", HostSecret, "agent:OpenSession", "host/self", s.agentSession},
		{"GET", "/v1/events", AnyToken, "events:WatchEvents", "event/*", s.events},
		{"GET", "/v1/host-tokens", Management, "hosts:ListRegistrationTokens", "host-token/*", List(s.Kit(), hostsAPI{s}.hostTokenList, func(l []pub.HostToken, next string) pub.HostTokenList {
			return pub.HostTokenList{HostTokens: l, Next: next}
		})},
		{"GET", "/v1/host-tokens/{accessor}", Management, "hosts:GetRegistrationToken", "host-token/{accessor}", Get(s.Kit(), hostsAPI{s}.hostTokenGet)},
		{"DELETE", "/v1/host-tokens/{accessor}", Management, "hosts:RevokeRegistrationToken", "host-token/{accessor}", Remove(s.Kit(), hostsAPI{s}.hostTokenRevoke)},
		{"POST", "/v1/agent/certificate", HostRenewal, "agent:RenewCertificate", "host/self", s.agentCertificate},
		{"GET", "/v1/operator/keyring", Management, "operator:GetKeyring", "keyring", s.keyringGet},
		{"POST", "/v1/operator/keyring/rotate", Management, "operator:RotateKeyring", "keyring", s.keyringRotate},
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

func (s *Server) wrap(rt *routeEntry) http.Handler {
	name := rt.Method + " " + rt.Pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		rid := s.rids.next()
		w.Header().Set(HeaderRequestID, rid)
		writeError := func(w http.ResponseWriter, err error) { // the route's own error page, or JSON
			if rt.RenderError != nil {
				rt.RenderError(w, r, StatusOf(err), err)
				return
			}
			writeError(w, err)
		}
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
		if rt.Access == Public && r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.unauth.tryAcquire() {
				refuse(s.unauthenticatedBusy(), "unauthenticated")
				return
			}
			defer s.unauth.release()
		}
		addr := clientKey(r)
		id, err := s.authenticate(r, rt.Access, addr)
		if err != nil && rt.Access == Console && fault.CodeOf(err) == fault.Unauthorized && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			abandonBody(w, r)
			toSignIn(sw, r) // a reader of the console signs in first, then comes back
			return
		}
		if err == nil && rt.Access == Console {
			http.SetCookie(w, ConsoleSeenCookie(ConsoleSecret(r), s.cfg.Now(), r.TLS != nil)) // the session was used now
			if err = checkCSRF(r); err != nil {
				s.auditDenied(r, rid, audit.Principal{Kind: audit.KindUser, Name: id.Token.User}, rt.Action, "", err)
			}
		}
		if err != nil {
			limit := ""
			// git asks without credentials first and for a challenge: that is not a failed
			// authentication, and does not count against the address's budget.
			probe := rt.Access == GitBasic && basicSecret(r) == ""
			if fault.CodeOf(err) == fault.Unauthorized && !probe {
				if wait, global := s.fails.fail(addr); wait > 0 {
					err, limit = s.tooManyFailures(wait, global), "auth_failures"
				}
			} else if fault.CodeOf(err) == fault.Unavailable {
				limit = "unauthenticated"
			}
			if rt.Access == GitBasic {
				challengeBasic(sw, err)
			}
			refuse(err, limit)
			return
		}
		if rt.HandlerAuthorizes {
			who, resource, err := s.deferAuthorization(rt, r, id)
			if err != nil {
				refuse(err, "")
				return
			}
			r = s.audited(r, rid, who, rt.Action, resource)
		} else if rt.Access == AnyToken || rt.Access == Management || rt.Access == Console || rt.Access == GitBasic {
			who, resource, err := s.authorize(rt, r, id)
			if err != nil {
				if fault.CodeOf(err) == fault.Forbidden {
					s.auditDenied(r, rid, who, rt.Action, resource, err)
				}
				refuse(err, "")
				return
			}
			r = s.audited(r, rid, who, rt.Action, resource)
		}
		if rt.Access == Management && !managementGate(id) {
			writeError(sw, fault.New(fault.Forbidden, "%s needs a management token; token %q is a %s token", name, id.Token.Name, id.Token.Type))
			return
		}
		if err := rt.Handle(sw, r, id); err != nil {
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
	Method   string
	Pattern  string
	Public   bool // callable without a token
	Access   Access
	Action   string
	Resource string
}

// Routes lists every endpoint the handler serves.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		out = append(out, RouteInfo{Method: rt.Method, Pattern: rt.Pattern, Public: rt.Access == Public,
			Access: rt.Access, Action: rt.Action, Resource: rt.Resource})
	}
	return out
}

// authenticate resolves the request's credentials for a route. A secret this server does not
// know yet is looked up once more after a consistent read: it may have been created through
// another server a moment ago (a token, a registration token, a host that just registered), or
// this server may have just started, its state not yet caught up with the log, or just been
// elected, before it has applied its predecessor's last entries. When that read cannot be
// made (no leader), the answer is NoLeader, not Unauthorized: a valid credential must never be
// told it is wrong (git, for one, then drops it from its credential store). The second lookup
// is skipped for an address over its failure budget, and counts against
// Limits.MaxUnauthenticated (an Unavailable error when that is full).
func (s *Server) authenticate(r *http.Request, a Access, addr netip.Prefix) (*auth.Identity, error) {
	resolve := func() (*auth.Identity, error) {
		switch a {
		case HostSecret, HostRenewal:
			id, err := auth.ResolveHost(s.cfg.State, bearer(r))
			if err != nil {
				return nil, err
			}
			return id, auth.CheckHostCertificate(id.Host, r.TLS, a == HostRenewal)
		case Registration:
			return auth.ResolveRegistration(s.cfg.State, bearer(r), s.cfg.Now())
		case AnyToken, Management:
			return auth.Resolve(s.cfg.State, bearer(r), s.cfg.Now())
		case Console:
			return resolveConsole(s.cfg.State, r, s.cfg.Now())
		case GitBasic:
			return resolveGitBasic(s.cfg.State, r, s.cfg.Now())
		}
		return nil, nil
	}
	id, err := resolve()
	if err == nil || fault.CodeOf(err) == fault.Forbidden || credentialOf(r, a) == "" {
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
	if rerr := s.cfg.Cluster.ConsistentRead(ctx); rerr != nil {
		return nil, fault.New(fault.NoLeader, "this server cannot check the credential now: %v", rerr)
	}
	return resolve()
}
