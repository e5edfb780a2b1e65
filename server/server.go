// Package server assembles a control-plane node: configuration, the Raft member, the HTTP API and
// the leader's duties. Start returns a running node; Run serves until its context ends and then
// shuts down gracefully.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auditlog"
	"github.com/slipwayhq/slipway/server/core/blob"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/keyring"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/raftstore"
	"github.com/slipwayhq/slipway/server/core/session"
)

// maxHeaderBytes bounds a request's line and headers (net/http's default is 1 MiB): the API's
// URLs, tokens and headers are short, and every byte of a query string is parsed per request.
const maxHeaderBytes = 64 << 10

// Server is a running control-plane node.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	node     *raftstore.Node
	http     *http.Server
	httpLn   net.Listener
	httpURL  string
	raftAddr string
	done     chan struct{}
	blobs    *blob.Service
	keyring  *keyring.Ring
	hub      *session.Hub
	tasks    *module.Runner
	tls      *tlsutil.Cluster // nil without TLS
	registry *module.Registry
	audit    *auditlog.Module
}

// Start binds the listeners, opens the Raft member on the data dir and starts serving the API.
// cfg must have passed Validate.
func Start(cfg config.Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	kek, err := keyring.LoadKEKFile(cfg.Keyring.KEKFile)
	if err != nil {
		return nil, fmt.Errorf("%w: --keyring-kek-file (keyring.kek_file): %w", config.ErrInvalid, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	var tlsc *tlsutil.Cluster
	if cfg.TLS.Enabled() {
		var err error
		if tlsc, err = cfg.TLS.Load(); err != nil {
			return nil, fmt.Errorf("%w: %w", config.ErrInvalid, err)
		}
	}
	if w := cfg.PlaintextWarning(); w != "" {
		log.Warn(w)
	}
	ring, err := keyring.New(kek, cfg.Keyring.KEKFile, cfg.DataDir, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: --keyring-kek-file (keyring.kek_file): %w", config.ErrInvalid, err)
	}
	raftLn, err := net.Listen("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --raft-addr %s: %w", cfg.RaftAddr, err)
	}
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		_ = raftLn.Close()
		return nil, fmt.Errorf("listen on --http-addr %s: %w", cfg.HTTPAddr, err)
	}
	raftAddr, httpURL := cfg.Advertised(raftLn.Addr().(*net.TCPAddr).Port, httpLn.Addr().(*net.TCPAddr).Port)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s := &Server{cfg: cfg, log: log, httpLn: httpLn, httpURL: httpURL, raftAddr: raftAddr, done: make(chan struct{}), tls: tlsc}
	core := &module.Core{Log: log, Now: time.Now, DataDir: dataDir}
	s.audit = auditlog.New(cfg.AuditRetention)
	s.registry = register(cfg, core, coreModule{s}, s.audit)
	table := s.registry.Table()
	background, leader := s.registry.Lifecycle()
	s.tasks = module.NewRunner(background, leader, log.With("component", "tasks"))
	expect := cfg.BootstrapExpect
	if expect == 0 && len(cfg.Join) == 0 {
		expect = 1
	}
	node, err := raftstore.Open(raftstore.Config{
		NodeID: cfg.NodeID, DataDir: filepath.Clean(cfg.DataDir), Listener: raftLn, Advertise: raftAddr, HTTPAddr: httpURL,
		BootstrapExpect: expect, Join: cfg.Join, Batching: !cfg.Raft.DisableBatching,
		HeartbeatTimeout: cfg.Raft.HeartbeatTimeout, ElectionTimeout: cfg.Raft.ElectionTimeout,
		LeaderLeaseTimeout: cfg.Raft.LeaderLeaseTimeout, CommitTimeout: cfg.Raft.CommitTimeout,
		SnapshotThreshold: cfg.Raft.SnapshotThreshold, SnapshotInterval: cfg.Raft.SnapshotInterval,
		TrailingLogs: cfg.Raft.TrailingLogs, Logger: log, Registry: reg, TLS: tlsc,
		Commands: table, Buckets: s.registry.AllBuckets(), Indexes: s.registry.AllIndexes(),
	}, s.tasks.LeaderStart)
	if err != nil {
		_ = httpLn.Close()
		return nil, err
	}
	s.node = node
	ring.SetState(node.State())
	s.keyring = ring
	s.blobs, err = blob.New(blob.Config{
		Dir: filepath.Join(cfg.DataDir, "blobs"), MaxSize: cfg.Blobs.MaxSize, Grace: cfg.Blobs.GCGrace,
		Interval: cfg.Blobs.RepairInterval, Reserve: cfg.Blobs.Reserve, Keys: s.keyring, Logger: log.With("component", "blob"),
		Dial: node.DialPeer,
	}, node, node.State())
	if err != nil {
		_ = httpLn.Close()
		_ = node.Shutdown(false)
		return nil, err
	}
	node.HandleProtocol(blob.Proto, s.blobs.ServeConn)
	s.hub = session.New(session.Config{Heartbeat: cfg.Agents.Heartbeat, HostTimeout: cfg.Agents.HostTimeout, EventStartTimeout: cfg.Agents.EventStartTimeout,
		Logger: log.With("component", "agents")}, node, node.State())
	for _, w := range s.registry.AllAgentWork() {
		s.hub.AddWork(w)
	}
	apiServer := api.New(api.Config{Cluster: node, State: node.State(), Blobs: s.blobs, Sessions: s.hub, Events: node.FSM().Events(),
		HostTimeout: cfg.Agents.HostTimeout, Logger: log.With("component", "api"), Registry: reg, LeaderTransport: leaderTransport(tlsc),
		CA: clusterCA(tlsc), HostCertValidity: cfg.Agents.HostCertValidity, MaxHosts: cfg.Agents.MaxHosts, Keyring: s.keyring,
		Limits: api.Limits{
			BodyReadTimeout: cfg.Limits.BodyReadTimeout, BodyIdleTimeout: cfg.Limits.BodyIdleTimeout,
			MaxUnauthenticated: cfg.Limits.MaxUnauthenticated, MaxStreamsPerToken: cfg.Limits.MaxStreamsPerToken,
			AuthFailures: cfg.Limits.AuthFailures, AuthFailureWindow: cfg.Limits.AuthFailureWindow,
		},
		Routes: s.registry.AllRoutes(), RevisionNames: s.registry.AllRevisionNames(),
		SecretEventKinds: s.registry.AllSecretEvents(), Policies: policiesOf(s.registry), Audit: s.audit.Writer(),
	})
	core.Cluster, core.State, core.Events, core.HTTP = node, node.State(), node.FSM().Events(), apiServer.Kit()
	core.Blobs, core.Keyring, core.Agents = s.blobs, s.keyring, s.hub
	s.tasks.Start()
	var handler http.Handler = apiServer
	if cfg.TLS.RequireClientCert {
		handler = api.RequireClientCert(handler)
	}
	s.http = &http.Server{
		Handler: handler,
		// No ReadTimeout or WriteTimeout: they would cut long uploads, downloads and websockets.
		// Headers must arrive within ReadHeaderTimeout and fit in MaxHeaderBytes; bodies are
		// bounded by the API's own read deadlines (api.Limits).
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelDebug),
	}
	serve := func() error { return s.http.Serve(httpLn) }
	if tlsc != nil {
		s.http.TLSConfig = tlsc.APIServerConfig()
		s.http.TLSConfig.GetCertificate = withCAChain(s.http.TLSConfig.GetCertificate, tlsc.CA) // agents learn the CA from a pin
		serve = func() error { return s.http.ServeTLS(httpLn, "", "") }
	}
	go func() {
		defer close(s.done)
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "error", err)
		}
	}()
	if tlsc != nil {
		leaf := tlsc.Cert.Leaf()
		log.Info("TLS on: mutual TLS on the cluster port, TLS on the API", "cert_serial", fmt.Sprintf("%x", leaf.SerialNumber),
			"cert_expires", leaf.NotAfter.UTC().Format(time.RFC3339), "require_client_cert", cfg.TLS.RequireClientCert, "can_sign_host_certs", tlsc.CA.Key != nil)
	}
	log.Info("server started", "node_id", node.ID(), "http", httpURL, "raft", raftAddr)
	return s, nil
}

// Run starts a server and serves until ctx ends, then shuts down gracefully. SIGHUP reloads the
// TLS certificate and key (ReloadTLS).
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	// SIGHUP is caught before the server serves, so a signal sent once it answers reloads.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s, err := Start(cfg, log)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		select {
		case <-hup:
			_ = s.ReloadTLS()
		case <-ctx.Done():
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// NodeID returns the node's ID.
func (s *Server) NodeID() string { return s.node.ID() }

// HTTPAddr returns the advertised base URL of the API.
func (s *Server) HTTPAddr() string { return s.httpURL }

// SSHPort returns the port this server serves git over SSH on, 0 while it serves none (--ssh-addr
// off, or a port it could not listen on).
func (s *Server) SSHPort() int {
	if g, ok := s.registry.Module("git").(interface{ SSHPort() int }); ok {
		return g.SSHPort()
	}
	return 0
}

// RaftAddr returns the advertised Raft address.
func (s *Server) RaftAddr() string { return s.raftAddr }

// TLS returns the server's TLS material (the cluster CA, with its key when --tls-ca-key-file was
// given, and the reloadable server certificate), or nil without TLS.
func (s *Server) TLS() *tlsutil.Cluster { return s.tls }

// ReloadTLS reads the server certificate and key files again (Run calls it on SIGHUP). The API
// and the cluster port use the new pair for every handshake after it; connections already open
// keep theirs. A pair that cannot be read, or is not a server certificate of the cluster CA, is
// refused: the previous pair stays in use and the error is logged and returned.
func (s *Server) ReloadTLS() error {
	if s.tls == nil {
		s.log.Info("reload requested, but this server has no TLS certificate to reload")
		return nil
	}
	if err := s.tls.Cert.Reload(); err != nil {
		s.log.Error("TLS certificate not reloaded; the previous one stays in use", "error", err)
		return err
	}
	leaf := s.tls.Cert.Leaf()
	s.log.Info("TLS certificate reloaded", "serial", fmt.Sprintf("%x", leaf.SerialNumber), "expires", leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// Node returns the Raft member (for tests and embedding).
func (s *Server) Node() *raftstore.Node { return s.node }

// Shutdown stops accepting requests, lets running ones finish (bounded by ctx), hands leadership
// to another server if this one leads, and stops Raft.
func (s *Server) Shutdown(ctx context.Context) error {
	herr := s.http.Shutdown(ctx)
	<-s.done
	s.tasks.Stop()
	rerr := s.node.Shutdown(true)
	return errors.Join(herr, rerr)
}

// Kill stops the node at once, as a crash would: no leadership transfer, connections cut.
func (s *Server) Kill() {
	_ = s.http.Close()
	<-s.done
	s.tasks.Stop()
	_ = s.node.Shutdown(false)
}

// ServiceRoutes returns the routes the services registered, as this server serves them (for
// tests that put an API handler of their own in front of a node, and route listings).
func (s *Server) ServiceRoutes() []api.Route { return s.registry.AllRoutes() }

// Service returns the registered service or core module named name ("git", "kv"), nil when
// there is none: tests reach a service's Go API through it.
func (s *Server) Service(name string) module.Module { return s.registry.Module(name) }

// Keyring returns the node's view of the cluster keyring (for tests and embedding).
func (s *Server) Keyring() *keyring.Ring { return s.keyring }

// leaderTransport is the transport of requests proxied to the leader's API: with TLS it trusts
// only the cluster CA, verifies the leader by the cluster's server name and presents this
// server's certificate (so an API that requires client certificates accepts the proxy).
func leaderTransport(tlsc *tlsutil.Cluster) http.RoundTripper {
	if tlsc == nil {
		return nil
	}
	return &http.Transport{
		Proxy:               nil, // server to server: never through an environment proxy
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsc.PeerClientConfig(),
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
	}
}

// firstDataKey proposes the cluster's first data key, generated and wrapped here: the FSM only
// stores it. Two leaders racing both propose; the command marked first is refused once the
// keyring has a key, so one wins. It works in the background (the other leader duties do not
// wait) and keeps trying, 1 s apart doubling to 30 s, while this server leads (ctx) and the
// keyring is empty: uploads fail until a key exists, so a failed proposal must not wait for the
// next leadership change. It is a leader task: it runs beside the others, not before them.
func (s *Server) firstDataKey(ctx context.Context) {
	wait := time.Second
	for ctx.Err() == nil && s.keyring.Empty() {
		p, err := s.keyring.NewKey(true)
		var res command.Result
		if err == nil {
			var c *command.Command
			if c, err = command.New(command.TypeKeyringAdd, "", time.Now(), p); err == nil {
				res, err = s.node.Apply(ctx, c)
			}
		}
		switch {
		case err == nil && res.Err() == nil:
			s.log.Info("first data key created", "key_id", p.ID)
			return
		case err == nil && errors.Is(res.Err(), fault.ErrConflict):
			return // another leader's first key won
		case ctx.Err() != nil:
			return
		case err == nil:
			err = res.Err()
		}
		s.log.Warn("first data key not created yet: blobs cannot be stored until it is; retrying", "error", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// policiesOverride replaces the identity service's authorizer in benchmarks that measure
// authorization against none (export_test.go); nil everywhere else.
var policiesOverride api.Policies

// policiesOf is the authorizer the API evaluates requests with: the identity service's.
func policiesOf(r *module.Registry) api.Policies {
	if policiesOverride != nil {
		return policiesOverride
	}
	return r.Policies()
}
