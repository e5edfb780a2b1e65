// Package testutil starts real Slipway servers in-process for tests: 1- or 3-node clusters on
// random loopback ports with fast Raft timings, with helpers to kill, restart and wait for a
// leader. Everything it starts is stopped by t.Cleanup.
package testutil

import (
	"context"
	"fmt"
	"github.com/slipwayhq/slipway/server/core/state"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/keyring"
)

// ManagementToken is the secret of the management token every test cluster starts with.
const ManagementToken = "slw_test-management-token-0123456789"

// Cluster is a set of in-process servers.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	servers []*server.Server // nil where a server is stopped
	configs []config.Config
	tls     *ClusterTLS // nil for a plaintext cluster
	hc      *http.Client
}

// Options tune a test cluster.
type Options struct {
	// Tweak, when set, may change each node's config before it starts.
	Tweak func(i int, c *config.Config)
	// NoToken skips waiting for the management token (for clusters started without one).
	NoToken bool
	// TLS starts the cluster with mutual TLS on the cluster port and TLS on the API: a fresh CA,
	// a server certificate per node (see ClusterTLS), and API clients that trust the CA and
	// present a client certificate.
	TLS bool
}

// FastRaft returns Raft timings for tests: elections in a few hundred milliseconds, frequent
// small snapshots so that catch-up through snapshot install is exercised.
func FastRaft() config.Raft {
	return config.Raft{
		HeartbeatTimeout:   600 * time.Millisecond,
		ElectionTimeout:    600 * time.Millisecond,
		LeaderLeaseTimeout: 300 * time.Millisecond,
		CommitTimeout:      5 * time.Millisecond,
		SnapshotThreshold:  256,
		SnapshotInterval:   250 * time.Millisecond,
		TrailingLogs:       64,
	}
}

// NewCluster starts n servers (1 or more) that form one cluster, and waits for a leader and for
// the management token to work.
func NewCluster(t testing.TB, n int, opts ...Options) *Cluster {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "management.token")
	if err := os.WriteFile(tokenFile, []byte(ManagementToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kekFile := filepath.Join(dir, "keyring.kek")
	if _, err := keyring.CreateKEKFile(kekFile); err != nil {
		t.Fatal(err)
	}
	ports := FreePorts(t, 2*n)
	var join []string
	for i := 0; i < n; i++ {
		join = append(join, fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]))
	}
	c := &Cluster{t: t, servers: make([]*server.Server, n), configs: make([]config.Config, n)}
	if o.TLS {
		c.tls = NewClusterTLS(t, filepath.Join(dir, "tls"))
		c.hc = c.tls.HTTPClient(t, "test-client")
	}
	for i := 0; i < n; i++ {
		cfg := config.Default()
		cfg.NodeID = fmt.Sprintf("node%d", i)
		cfg.DataDir = filepath.Join(dir, cfg.NodeID)
		cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		cfg.RaftAddr = join[i]
		cfg.SSHAddr = "127.0.0.1:0" // git over SSH on a free port (Server.SSHPort)
		cfg.InitialManagementTokenFile = tokenFile
		cfg.Keyring.KEKFile = kekFile
		cfg.Raft = FastRaft()
		if n > 1 {
			cfg.BootstrapExpect = n
			cfg.Join = join
		}
		if c.tls != nil {
			cfg.TLS = c.tls.ServerConfig(t, cfg.NodeID)
		}
		if o.Tweak != nil {
			o.Tweak(i, &cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("node %d config: %v", i, err)
		}
		c.configs[i] = cfg
	}
	t.Cleanup(c.stopAll)
	for i := range c.configs {
		c.Start(i)
	}
	c.WaitLeader()
	if !o.NoToken {
		c.WaitToken()
	}
	c.WaitKeyring()
	c.WaitNodesRegistered()
	return c
}

// WaitNodesRegistered waits until every running server's node record (its addresses) is in the
// replicated state. Each server proposes its own on a timer; after this, a test that counts
// applied entries sees none it did not cause.
func (c *Cluster) WaitNodesRegistered() {
	c.t.Helper()
	Eventually(c.t, 15*time.Second, func() error {
		for _, i := range c.Running() {
			id := c.configs[i].NodeID
			for _, j := range c.Running() {
				var found bool
				_ = c.Server(j).Node().State().View(func(tx *state.Tx) error {
					_, found, _ = tx.GetNode(id)
					return nil
				})
				if !found {
					return fmt.Errorf("node %d has not applied node %s's registration yet", j, id)
				}
			}
		}
		return nil
	})
}

// WaitKeyring waits until every running server has applied the cluster's first data key, so
// that blob uploads work on any of them.
func (c *Cluster) WaitKeyring() {
	c.t.Helper()
	Eventually(c.t, 15*time.Second, func() error {
		for _, i := range c.Running() {
			if c.Server(i).Keyring().ActiveID() == "" {
				return fmt.Errorf("node %d has no data key yet", i)
			}
		}
		return nil
	})
}

// Len returns the number of servers, running or not.
func (c *Cluster) Len() int { return len(c.configs) }

// Config returns server i's configuration (to change before a Restart).
func (c *Cluster) Config(i int) *config.Config { return &c.configs[i] }

// Server returns server i, or nil if it is stopped.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[i]
}

// Start starts server i on its data dir (a restart if it ran before).
func (c *Cluster) Start(i int) {
	c.t.Helper()
	var s *server.Server
	var err error
	// The port may be briefly held by the previous incarnation's sockets.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err = server.Start(c.configs[i], Logger(c.t).With("node", c.configs[i].NodeID))
		if err == nil || !strings.Contains(err.Error(), "address already in use") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("start node %d: %v", i, err)
	}
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
}

// Kill stops server i abruptly, as a crash would.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Kill()
	}
}

// Stop shuts server i down gracefully (leadership transfer first).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			c.t.Logf("shutdown node %d: %v", i, err)
		}
	}
}

// Wipe deletes server i's data dir; the server must be stopped.
func (c *Cluster) Wipe(i int) {
	if err := os.RemoveAll(c.configs[i].DataDir); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) stopAll() {
	var wg sync.WaitGroup
	for i := range c.configs {
		wg.Add(1)
		go func() { defer wg.Done(); c.Kill(i) }()
	}
	wg.Wait()
}

// Running returns the indexes of running servers.
func (c *Cluster) Running() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i, s := range c.servers {
		if s != nil {
			out = append(out, i)
		}
	}
	return out
}

// LeaderIndex returns the index of the running server that leads, or -1.
func (c *Cluster) LeaderIndex() int {
	for _, i := range c.Running() {
		if s := c.Server(i); s != nil && s.Node().IsLeader() {
			return i
		}
	}
	return -1
}

// WaitLeader waits until one running server leads and every running server knows it, and
// returns its index.
func (c *Cluster) WaitLeader() int {
	c.t.Helper()
	var leader int
	Eventually(c.t, 20*time.Second, func() error {
		leader = c.LeaderIndex()
		if leader < 0 {
			return fmt.Errorf("no leader among %v", c.Running())
		}
		want := c.configs[leader].NodeID
		for _, i := range c.Running() {
			s := c.Server(i)
			if s == nil {
				continue
			}
			if id, _, _ := s.Node().Leader(); id != want {
				return fmt.Errorf("node %d sees leader %q, want %q", i, id, want)
			}
		}
		return nil
	})
	return leader
}

// Follower returns the index of a running server that does not lead.
func (c *Cluster) Follower() int {
	c.t.Helper()
	l := c.WaitLeader()
	for _, i := range c.Running() {
		if i != l {
			return i
		}
	}
	c.t.Fatal("no follower running")
	return -1
}

// WaitToken waits until the management token is accepted by every running server.
func (c *Cluster) WaitToken() {
	c.t.Helper()
	for _, i := range c.Running() {
		cl := c.Client(i)
		Eventually(c.t, 20*time.Second, func() error {
			_, err := cl.TokenSelf(context.Background())
			return err
		})
	}
}

// WaitApplied waits until every running server has applied at least index.
func (c *Cluster) WaitApplied(index uint64) {
	c.t.Helper()
	for _, i := range c.Running() {
		s := c.Server(i)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := s.Node().FSM().WaitApplied(ctx, index)
		cancel()
		if err != nil {
			c.t.Fatalf("node %d: %v", i, err)
		}
	}
}

// Client returns an API client for server i with the management token.
func (c *Cluster) Client(i int) *api.Client {
	return c.ClientWithToken(i, ManagementToken)
}

// ClientWithToken returns an API client for server i with the given token.
func (c *Cluster) ClientWithToken(i int, token string) *api.Client {
	c.t.Helper()
	cl, err := api.NewClient(api.Config{Address: c.URL(i), Token: token, HTTPClient: c.hc})
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// URL returns server i's HTTP base URL (https:// with TLS).
func (c *Cluster) URL(i int) string {
	if c.configs[i].TLS.Enabled() {
		return "https://" + c.configs[i].HTTPAddr
	}
	return "http://" + c.configs[i].HTTPAddr
}

// TLS returns the cluster's certificates, or nil for a plaintext cluster.
func (c *Cluster) TLS() *ClusterTLS { return c.tls }

// HTTPClient returns the client the cluster's API clients use: nil (the default) for a plaintext
// cluster; with TLS, one that trusts the cluster CA and presents a client certificate.
func (c *Cluster) HTTPClient() *http.Client { return c.hc }

// Eventually retries f until it returns nil or the timeout passes, then fails the test with
// f's last error.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	if err := Poll(timeout, 100*time.Millisecond, f); err != nil {
		t.Fatal(err)
	}
}

// Poll calls f until it returns nil or timeout passes, and then returns f's last error. Between
// calls it pauses from 5 ms, doubling up to maxPause: a polling interval for a condition that
// has no event to wait on, chosen by what one call of f costs.
func Poll(timeout, maxPause time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	pause := 5 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met after %s: %w", timeout, err)
		}
		time.Sleep(pause)
		pause = min(pause*2, maxPause)
	}
}
