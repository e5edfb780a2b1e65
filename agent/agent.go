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
	"time"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/agent/config"
	"github.com/slipwayhq/slipway/agent/lifecycle"
	"github.com/slipwayhq/slipway/agent/session"
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
}

const identityFile = "identity.json"

// Run runs the agent until ctx ends.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	id, err := ensureIdentity(ctx, cfg, log)
	if err != nil {
		return err
	}
	runner, err := lifecycle.New(lifecycle.Config{Root: filepath.Join(cfg.DataDir, "deployment-root"), MaxRevisions: cfg.MaxRevisions, HostName: id.Name, Logger: log,
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
	if ids := runner.Recover(reporter); len(ids) > 0 {
		log.Warn("deployments interrupted by an agent restart were reported failed", "deployments", ids)
	}
	servers := id.Servers
	if len(servers) == 0 {
		servers = cfg.Servers
	}
	var client *session.Client
	fetcher := &session.Fetcher{Secret: id.Secret, Client: session.NewFetchClient(), Servers: func() []string { return client.PreferredServers() }}
	client = session.New(session.Config{
		Servers: servers, Secret: id.Secret, Runner: runner, Outbox: outbox, Reporter: reporter, Fetcher: fetcher,
		Logger: log,
		OnServers: func(s []string) {
			id.Servers = s
			if err := saveIdentity(cfg.DataDir, id); err != nil {
				log.Warn("could not save the server list", "error", err)
			}
		},
	})
	log.Info("agent running", "host", id.Name, "host_id", id.HostID, "servers", servers, "version", version.Version)
	return client.Run(ctx)
}

// ensureIdentity loads the host identity, making and registering one on the first start. With a
// registration token configured, an existing identity registers again (idempotent: tags and facts
// are updated); if that fails the agent still starts with the identity it has.
func ensureIdentity(ctx context.Context, cfg config.Config, log *slog.Logger) (*identity, error) {
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
		id = &identity{HostID: uuid.NewString(), Secret: "slwh_" + base64.RawURLEncoding.EncodeToString(b[:]), Name: cfg.Name}
	default:
		return nil, err
	}
	if cfg.Name != "" {
		id.Name = cfg.Name
	}
	if cfg.RegistrationToken == "" {
		return id, nil
	}
	reply, err := register(ctx, cfg, id)
	if err != nil {
		if raw != nil {
			log.Warn("re-registration failed; starting with the existing identity", "error", err)
			return id, nil
		}
		return nil, err
	}
	id.Name, id.Servers = reply.Name, reply.Servers
	return id, saveIdentity(cfg.DataDir, id)
}

func register(ctx context.Context, cfg config.Config, id *identity) (*agentproto.RegisterReply, error) {
	hostname, _ := os.Hostname()
	body, _ := json.Marshal(agentproto.Register{
		HostID: id.HostID, Secret: id.Secret, Name: id.Name, Tags: cfg.Tags, Hostname: hostname,
		OS: runtime.GOOS, Arch: runtime.GOARCH, AgentVersion: version.Version,
	})
	var errs []error
	hc := &http.Client{Timeout: 30 * time.Second}
	for _, srv := range cfg.Servers {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv+"/v1/agent/register", bytes.NewReader(body))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		req.Header.Set("Authorization", "Bearer "+cfg.RegistrationToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", srv, err))
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errs = append(errs, fmt.Errorf("%s refused the registration (%s): %s", srv, resp.Status, bytes.TrimSpace(data)))
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusForbidden {
				break // another server will say the same
			}
			continue
		}
		var reply agentproto.RegisterReply
		if err := json.Unmarshal(data, &reply); err != nil {
			return nil, fmt.Errorf("%s: bad registration answer: %w", srv, err)
		}
		return &reply, nil
	}
	return nil, fmt.Errorf("register host: %w", errors.Join(errs...))
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
