// Package agent is slipway-agent: it registers its host, keeps a session with the control plane
// and runs deployments. Run is what the service (or `slipway-agent run`) executes.
package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/agent/config"
	"github.com/slipwayhq/slipway/agent/lifecycle"
	"github.com/slipwayhq/slipway/agent/session"
	"github.com/slipwayhq/slipway/builder/executor/docker"
	"github.com/slipwayhq/slipway/internal/version"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/bundle"
)

// identity is the host's identity, made by the agent on its first start and kept (mode 0600)
// in the data dir. The secret never leaves the host except to authenticate.
type identity struct {
	HostID  string   `json:"host_id"`
	Secret  string   `json:"secret"`
	Name    string   `json:"name"`
	Servers []string `json:"servers,omitempty"`
	// Pending is true from when the identity is made until a registration of it succeeded. (An
	// identity.json without it was written after its registration succeeded.)
	Pending bool `json:"pending,omitempty"`
}

const identityFile = "identity.json"

// Run runs the agent until ctx ends. Deployments it is running when ctx ends are left running
// (a service agent stops with KillMode=process); the next start reports them failed.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	return run(ctx, cfg, log, false)
}

// RunEmbedded runs an agent inside another process (the embedded agents of `slipway dev`) until
// ctx ends, and then ends the deployments it is running as a server's cancel does (each running
// hook's process group terminated, SIGTERM then SIGKILL after the grace; the deployment recorded
// failed as cancelled because the agent is stopping, reported on its next start) before it
// returns, so that no hook outlives the process.
func RunEmbedded(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	return run(ctx, cfg, log, true)
}

func run(ctx context.Context, cfg config.Config, log *slog.Logger, embedded bool) error {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	trust, err := session.NewTrust(cfg.CAPin, cfg.CAFile, cfg.DataDir, log)
	if err != nil {
		return fmt.Errorf("%w: %w", config.ErrInvalid, err)
	}
	if !trust.Enabled() {
		log.Warn("no ca_pin or ca_file: the agent talks plain HTTP and sends its secrets unencrypted; this is for development only")
	}
	cert, err := session.LoadHostCert(cfg.DataDir, log)
	if err != nil {
		return err
	}
	tlsConfig := trust.ClientConfig(cert.Current)
	httpClient := session.NewFetchClient(tlsConfig)
	set := detectWorkers(ctx, cfg, log)
	id, err := ensureIdentity(ctx, cfg, log, &tlsState{trust: trust, cert: cert, client: httpClient, peer: set.advertised()})
	if err != nil {
		return err
	}
	runner, err := lifecycle.New(lifecycle.Config{Root: filepath.Join(cfg.DataDir, "deployment-root"), MaxRevisions: cfg.MaxRevisions, HostName: id.Name, Logger: log,
		InstallRoot: cfg.InstallRoot, KeepGroups: embedded,
		BundleLimits: bundle.Limits{MaxExpansion: cfg.BundleMaxExpansion, MaxBytes: int64(cfg.BundleMaxUnpackedSize)}})
	if err != nil {
		return err
	}
	outbox, err := session.OpenOutbox(filepath.Join(cfg.DataDir, "outbox"))
	if err != nil {
		return fmt.Errorf("open outbox: %w", err)
	}
	defer func() { _ = outbox.Close() }()
	reporter := session.NewReporter(outbox)
	servers := id.Servers
	if len(servers) == 0 {
		servers = cfg.Servers
	}
	var client *session.Client
	preferred := func() []string {
		if client == nil {
			return servers
		}
		return client.PreferredServers()
	}
	fetcher := &session.Fetcher{Secret: id.Secret, Client: httpClient, Trust: trust, Servers: preferred}
	if trust.Enabled() {
		renewer := &session.Renewer{Cert: cert, Trust: trust, HostID: id.HostID, Secret: id.Secret, Servers: preferred, Client: httpClient, Logger: log}
		if cert.Current() == nil {
			// No certificate yet (or an expired one): get one before the first session, which
			// needs it; Run keeps trying if this fails.
			if err := renewer.Renew(ctx); err != nil {
				log.Error("this host has no valid certificate and could not renew it yet", "error", err)
			}
		}
		go renewer.Run(ctx)
	}
	client = session.New(session.Config{
		Servers: servers, Secret: id.Secret, Workers: newWorkers(set, cfg.DataDir, runner, fetcher, outbox, reporter, log), Outbox: outbox,
		Logger: log, Trust: trust, TLS: tlsConfig, EndWorkOnStop: embedded,
		OnServers: func(s []string) {
			id.Servers = s
			if err := saveIdentity(cfg.DataDir, id); err != nil {
				log.Warn("could not save the server list", "error", err)
			}
		},
	})
	log.Info("agent running", "host", id.Name, "host_id", id.HostID, "servers", servers, "tls", trust.Enabled(), "version", version.Version)
	return client.Run(ctx)
}

// workerSet is which workers this agent runs (newWorkers): deployments always; builds when
// the configuration enables them (config.Builds), in Docker too when the engine answered at
// start. Registration advertises it before the workers can be built (the deployment runner
// needs the host's registered name); TestAdvertisedKindsAreTheWorkers checks the two agree.
type workerSet struct {
	builds     bool
	docker     bool
	containers session.Containers // how build containers run (the configuration's build_*)
}

// dockerProbe bounds the start's question to the Docker engine.
const dockerProbe = 3 * time.Second

// detectWorkers reads the configuration and, when builds are on, asks the Docker engine whether
// it answers (within dockerProbe).
func detectWorkers(ctx context.Context, cfg config.Config, log *slog.Logger) workerSet {
	set := workerSet{builds: cfg.BuildsEnabled(), containers: session.Containers{Network: cfg.BuildNetwork,
		Memory: int64(cfg.BuildMemory), CPUs: cfg.BuildCPUs}}
	if !set.builds {
		return set
	}
	pctx, cancel := context.WithTimeout(ctx, dockerProbe)
	defer cancel()
	if err := docker.Available(pctx); err != nil {
		log.Info("builds on, without Docker: builds with an image are not taken", "error", err)
	} else {
		set.docker = true
		log.Info("builds on, with Docker")
	}
	return set
}

// newWorkers builds the agent's workers: deployments, run by runner; builds when set says so,
// their workspaces and records under dataDir.
func newWorkers(set workerSet, dataDir string, runner *lifecycle.Runner, fetcher *session.Fetcher, outbox *session.Outbox, reporter lifecycle.Reporter, log *slog.Logger) []session.Worker {
	ws := []session.Worker{session.NewDeployments(runner, fetcher, reporter, log)}
	if set.builds {
		ws = append(ws, session.NewBuilds(session.BuildsConfig{Dir: dataDir, Fetcher: fetcher, Docker: set.docker, Containers: set.containers,
			Reporter: session.NewKindReporter(outbox, agentproto.KindBuild), Logger: log}))
	}
	return ws
}

// advertised is what registration says of this agent (agentproto.Peer): this protocol version,
// the kinds of its workers and the docker capability.
func (s workerSet) advertised() agentproto.Peer {
	caps := []string{agentproto.KindDeploy}
	if s.builds {
		caps = append(caps, agentproto.KindBuild)
		if s.docker {
			caps = append(caps, agentproto.CapabilityDocker)
		}
	}
	slices.Sort(caps)
	return agentproto.Peer{Protocol: agentproto.ProtocolVersion, Capabilities: caps}
}

// tlsState is what registration needs to verify servers and get the host certificate, and the
// agent's version and capabilities it sends in its headers.
type tlsState struct {
	trust  *session.Trust
	cert   *session.HostCert
	client *http.Client
	peer   agentproto.Peer
}

// ensureIdentity loads the host identity, making and registering one on the first start. With a
// registration token configured, an existing identity registers again (idempotent: tags and facts
// are updated); if that fails the agent still starts with the identity it has.
//
// A new identity is saved (0600, marked pending) before its first registration is sent, and
// registered again with the same ID and secret until a registration succeeds, however often the
// agent restarts. Registration is idempotent for the same ID and secret, so a registration the
// server committed but whose reply was lost (a timeout, a crash, a dropped connection) is
// completed by the next attempt instead of leaving a ghost host behind a second identity. A
// pending identity is kept through every refusal: most (an expired, revoked or used-up token,
// refused tags, the cluster's host limit, an untrusted server) are not about the identity, and
// the ones that are (409: the ID was deleted, or is held with another secret) say to delete
// identity.json, which an operator does knowingly; discarding it here could orphan a host the
// server did register.
func ensureIdentity(ctx context.Context, cfg config.Config, log *slog.Logger, ts *tlsState) (*identity, error) {
	path := filepath.Join(cfg.DataDir, identityFile)
	id := &identity{}
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, id); err != nil || id.HostID == "" || id.Secret == "" {
			return nil, fmt.Errorf("%s is damaged: remove it to register this host again", path)
		}
	case errors.Is(err, os.ErrNotExist):
		if cfg.RegistrationToken == "" {
			return nil, fmt.Errorf("%w: this host is not registered and no registration token is configured: create one with 'slipway host token create' and pass --registration-token", config.ErrInvalid)
		}
		var b [32]byte
		_, _ = rand.Read(b[:])
		id = &identity{HostID: uuid.NewString(), Secret: "slwh_" + base64.RawURLEncoding.EncodeToString(b[:]), Name: cfg.Name, Pending: true}
		if err := saveIdentity(cfg.DataDir, id); err != nil {
			return nil, fmt.Errorf("save the new host identity before registering it: %w", err)
		}
	default:
		return nil, err
	}
	if cfg.Name != "" {
		id.Name = cfg.Name
	}
	if cfg.RegistrationToken == "" {
		if id.Pending {
			return nil, fmt.Errorf("%w: this host's registration has not completed (host id %s in %s) and no registration token is configured: pass --registration-token (create one with 'slipway host token create'); the agent registers the same identity", config.ErrInvalid, id.HostID, path)
		}
		return id, nil
	}
	reply, err := register(ctx, cfg, id, ts)
	var untrusted *session.UntrustedServerError
	if err != nil {
		if !id.Pending && !errors.As(err, &untrusted) {
			log.Warn("re-registration failed; starting with the existing identity", "error", err)
			return id, nil
		}
		if id.Pending {
			err = fmt.Errorf("%w (the identity %s is kept in %s and registered again on the next start)", err, id.HostID, path)
		}
		return nil, err
	}
	id.Name, id.Servers, id.Pending = reply.Name, reply.Servers, false
	if reply.Certificate != "" {
		if err := ts.cert.Set([]byte(reply.Certificate), id.HostID, ts.trust.Roots(), []byte(reply.CA)); err != nil {
			return nil, fmt.Errorf("register host: %w", err)
		}
		ts.client.CloseIdleConnections() // they were opened without the certificate
		log.Info("host certificate issued", "not_after", ts.cert.Leaf().NotAfter)
	} else if ts.trust.Enabled() {
		return nil, errors.New("register host: the server issued no host certificate although this agent verifies the cluster with TLS; the server must run TLS with the cluster CA (--tls-ca-file, --tls-ca-key-file)")
	}
	return id, saveIdentity(cfg.DataDir, id)
}

// register registers the host with the first server that accepts it. It refuses servers the
// agent cannot verify (see session.Trust) before sending anything; a server that fails the TLS
// verification ends the registration with an *session.UntrustedServerError: the pin or CA names
// another cluster, or the connection is intercepted.
func register(ctx context.Context, cfg config.Config, id *identity, ts *tlsState) (*agentproto.RegisterReply, error) {
	hostname, _ := os.Hostname()
	csr, err := ts.cert.CSR(id.HostID)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(agentproto.Register{
		HostID: id.HostID, Secret: id.Secret, Name: id.Name, Tags: cfg.Tags, Hostname: hostname,
		OS: runtime.GOOS, Arch: runtime.GOARCH, AgentVersion: version.Version, CSR: csr,
	})
	var errs []error
	for _, srv := range cfg.Servers {
		if err := ts.trust.CheckURL(srv); err != nil {
			errs = append(errs, err)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		reply, final, err := registerAt(rctx, srv, cfg.RegistrationToken, body, ts)
		cancel()
		if err == nil {
			return reply, nil
		}
		var untrusted *session.UntrustedServerError
		if errors.As(err, &untrusted) {
			return nil, fmt.Errorf("register host: %w", untrusted)
		}
		errs = append(errs, err)
		if final {
			break // another server will say the same
		}
	}
	return nil, fmt.Errorf("register host: %w", errors.Join(errs...))
}

func registerAt(ctx context.Context, srv, token string, body []byte, ts *tlsState) (reply *agentproto.RegisterReply, final bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv+"/v1/agent/register", bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	ts.peer.SetHeaders(req.Header)
	resp, err := ts.client.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", srv, err)
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		final := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusForbidden
		return nil, final, fmt.Errorf("%s refused the registration (%s): %s", srv, resp.Status, bytes.TrimSpace(data))
	}
	reply = &agentproto.RegisterReply{}
	if err := json.Unmarshal(data, reply); err != nil {
		return nil, true, fmt.Errorf("%s: bad registration answer: %w", srv, err)
	}
	// The server answered over a completed handshake: with only a pin, its CA is now known.
	ts.trust.Confirm(resp.TLS)
	return reply, false, nil
}

func saveIdentity(dir string, id *identity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, identityFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, identityFile))
}
