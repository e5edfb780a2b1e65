//go:build testbed

package testbed

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

const (
	httpPort = 7400
	raftPort = 7401
)

// bed is one test bed: three (or Servers) control-plane containers and Agents agent containers
// on two networks of their own.
//
//   - cluster: the fleet's network. Servers talk Raft and forward requests over it, advertise
//     their address on it, and agents reach the servers on it. Faults cut nodes off it.
//   - client: servers only, the test's way in. The test runs on the Docker host, which reaches
//     every bridge network's addresses directly; keeping its path separate lets a scenario cut
//     a server off its peers and still send it requests, as a client next to it would.
type bed struct {
	t       *testing.T
	prefix  string // names the bed's networks and containers
	cluster *network
	client  *network
	token   string // management secret
	tls     *bedTLS
	servers []*server
	agents  []*container
	// httpc is the test's HTTP client for health checks: it trusts the bed's CA.
	httpc *http.Client
}

// server is one control-plane container.
type server struct {
	*container
	id string // node ID (--node-id)
}

// clusterAddr is the server's address on the cluster network.
func (s *server) clusterAddr(b *bed) string { return s.ips[b.cluster.name] }

// URL is the server's API address on the client network, where the test reaches it.
func (s *server) URL(b *bed) string {
	return "https://" + net.JoinHostPort(s.ips[b.client.name], fmt.Sprint(httpPort))
}

// supervisor is the servers' PID 1: it runs the server and, once the server has exited (a
// KillProcess), waits for RestartProcess to start it again. The container, its address and its
// network stack outlive the process, as a host outlives a crashed service; peers that dial it
// meet "connection refused" at once, unlike after Kill, where its address goes silent.
const supervisor = `while :; do "$@"; echo "testbed: $1 exited with status $?" >&2; ` +
	`while [ ! -e /run/testbed-restart ]; do sleep 0.1; done; rm -f /run/testbed-restart; done`

// KillProcess sends SIGKILL to the slipway server process only (a crash of the service on a
// host that stays up) and waits until it is gone.
func (s *server) KillProcess() {
	s.t.Helper()
	s.signalProcess("KILL", 10*time.Second)
}

// StopProcess stops the server process with SIGTERM, as `systemctl stop` would: the server
// finishes its requests, hands leadership over if it leads, and exits. The container's
// supervisor then waits for RestartProcess.
func (s *server) StopProcess() {
	s.t.Helper()
	s.signalProcess("TERM", 60*time.Second)
}

// serverPIDs lists the PIDs of `slipway server` processes in the container: those the
// supervisor (PID 1) started. pidof also names the short-lived `slipway git-hook` processes that
// git's hooks run during a push, and a child the server has forked to run git shows the
// server's own command line until it executes git; neither is a child of PID 1.
func (s *server) serverPIDs() ([]string, error) {
	out, err := s.Exec("sh", "-c", `for p in $(pidof slipway); do `+
		`tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q '^/bin/slipway server ' || continue; `+
		`read -r _ _ _ pp _ < /proc/$p/stat 2>/dev/null && [ "$pp" = 1 ] && echo $p; done; true`)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	return strings.Fields(out), nil
}

// signalProcess sends sig to the slipway server process and waits until it has exited.
func (s *server) signalProcess(sig string, within time.Duration) {
	s.t.Helper()
	pids, err := s.serverPIDs()
	if err != nil || len(pids) != 1 {
		s.t.Fatalf("%s: the slipway server process: %q, %v", s.id, pids, err)
	}
	if out, err := s.Exec("kill", "-"+sig, pids[0]); err != nil {
		s.t.Fatalf("%s: kill -%s %s: %v: %s", s.id, sig, pids[0], err, out)
	}
	eventually(s.t, within, s.id+" process exits after SIG"+sig, func() error {
		pids, err := s.serverPIDs()
		if err != nil {
			return err
		}
		if len(pids) > 0 {
			return fmt.Errorf("still running: %s", strings.Join(pids, " "))
		}
		return nil
	})
}

// RestartProcess starts the server process again after KillProcess, on the same data.
func (s *server) RestartProcess() {
	s.t.Helper()
	if out, err := s.Exec("touch", "/run/testbed-restart"); err != nil {
		s.t.Fatalf("%s: %v: %s", s.id, err, out)
	}
	eventually(s.t, 10*time.Second, s.id+" process started", func() error {
		pids, err := s.serverPIDs()
		if err == nil && len(pids) == 0 {
			err = errors.New("no slipway server process yet")
		}
		return err
	})
}

// bedOptions tune newBed.
type bedOptions struct {
	Servers int // default 3
	Agents  int
	// Config is a YAML server configuration (e.g. Raft timings) copied into every server.
	Config string
	// DataDisk puts a server's /data (its data dir: Raft log, state and blobs) on a tmpfs of
	// that many bytes, by server index, so that FillDisk and large uploads can fill it. The
	// content is lost if the container stops: KillProcess and RestartProcess keep it.
	DataDisk map[int]int64
}

// newBed creates the networks and starts the servers, waits for a leader and the management
// token, then starts the agents and waits until they are online. Everything is removed in
// t.Cleanup.
func newBed(t *testing.T, o bedOptions) *bed {
	t.Helper()
	requireDocker(t)
	if o.Servers == 0 {
		o.Servers = 3
	}
	tag := fmt.Sprintf("slw-%s-%s", runID, shortName(t))
	b := &bed{t: t, prefix: tag, token: newSecret(t), tls: newBedTLS(t)}
	b.httpc = &http.Client{Transport: &http.Transport{TLSClientConfig: b.tls.clientConfig.Clone()}}
	b.cluster = createNetwork(t, tag+"-cluster")
	b.client = createNetwork(t, tag+"-client")

	var join []string
	addrs := make([]string, o.Servers)
	clientAddrs := make([]string, o.Servers)
	for i := range o.Servers {
		addrs[i] = b.cluster.allocate(t)
		clientAddrs[i] = b.client.allocate(t)
		join = append(join, net.JoinHostPort(addrs[i], fmt.Sprint(raftPort)))
	}
	kek := make([]byte, 32) // the cluster's key-encryption key, the same file on every server
	_, _ = rand.Read(kek)
	started := time.Now()
	for i := range o.Servers {
		id := fmt.Sprintf("s%d", i)
		cmd := []string{"/bin/sh", "-c", supervisor, "supervisor", "/bin/slipway", "server",
			"--node-id", id,
			"--data-dir", "/data/server",
			"--http-addr", fmt.Sprintf("0.0.0.0:%d", httpPort),
			"--raft-addr", fmt.Sprintf("0.0.0.0:%d", raftPort),
			"--advertise", addrs[i],
			"--initial-management-token-file", "/etc/slipway/management.token",
			"--keyring-kek-file", "/etc/slipway/keyring.kek",
		}
		// The README's TLS cluster: a server certificate valid for both of the server's addresses.
		cmd = append(cmd, serverTLSFlags...)
		if o.Servers > 1 {
			cmd = append(cmd, "--bootstrap-expect", fmt.Sprint(o.Servers), "--join", strings.Join(join, ","))
		}
		files := b.tls.serverFiles(id, addrs[i], clientAddrs[i])
		files["/etc/slipway/management.token"] = []byte(b.token + "\n")
		files["/etc/slipway/keyring.kek"] = []byte(base64.StdEncoding.EncodeToString(kek) + "\n")
		if o.Config != "" {
			files["/etc/slipway/server.yml"] = []byte(o.Config)
			cmd = append(cmd, "--config", "/etc/slipway/server.yml")
		}
		var tmpfs []string
		if size := o.DataDisk[i]; size > 0 {
			tmpfs = append(tmpfs, fmt.Sprintf("/data:rw,size=%dk,mode=0700", (size+1023)>>10))
		}
		c := startContainer(t, containerSpec{Prefix: b.prefix, Role: id, Networks: []*network{b.cluster, b.client},
			IPs: map[string]string{b.cluster.name: addrs[i], b.client.name: clientAddrs[i]}, Files: files, Cmd: cmd, Tmpfs: tmpfs})
		b.servers = append(b.servers, &server{container: c, id: id})
	}
	leader := b.WaitLeader(90*time.Second, b.all())
	b.WaitToken(60 * time.Second)
	t.Logf("bed: %d servers up in %s, leader %s; cluster network %s (%s), client network %s (%s)",
		o.Servers, time.Since(started).Round(time.Millisecond), b.servers[leader].id,
		b.cluster.name, b.cluster.subnet, b.client.name, b.client.subnet)

	if o.Agents > 0 {
		b.startAgents(o.Agents)
	}
	return b
}

// startAgents registers n agent containers with a host token, each pointed at every server's
// cluster address, and waits until the cluster reports them online.
func (b *bed) startAgents(n int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ht, err := b.Client(0).HostTokenCreate(ctx, api.HostTokenCreateRequest{Tags: map[string]string{"bed": "testbed"}, AllowTags: []string{"index=*"}})
	if err != nil {
		b.t.Fatalf("host token create: %v", err)
	}
	var urls []string
	for _, s := range b.servers {
		urls = append(urls, "https://"+net.JoinHostPort(s.clusterAddr(b), fmt.Sprint(httpPort)))
	}
	for i := range n {
		name := fmt.Sprintf("a%d", i)
		c := startContainer(b.t, containerSpec{Prefix: b.prefix, Role: name, Networks: []*network{b.cluster},
			Files: map[string][]byte{"/etc/slipway/registration.token": []byte(ht.Token + "\n"), agentCAFile: b.tls.caPEM},
			Cmd: []string{"/bin/slipway-agent", "run",
				"--server", strings.Join(urls, ","),
				"--ca-file", agentCAFile,
				"--registration-token-file", "/etc/slipway/registration.token",
				"--data-dir", "/data/agent",
				"--name", name,
				"--tag", fmt.Sprintf("index=%d", i),
				"--builds", // the build scenarios; the others never start a build
			}})
		b.agents = append(b.agents, c)
	}
	b.WaitAgentsOnline(60 * time.Second)
}

// WaitAgentsOnline waits until every agent's host is online, read through the leader.
func (b *bed) WaitAgentsOnline(timeout time.Duration) {
	b.t.Helper()
	cl := b.Client(0)
	eventually(b.t, timeout, "agents online", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, a := range b.agents {
			h, err := cl.HostGet(ctx, a.role, &api.QueryOptions{Consistent: true})
			if err != nil {
				return fmt.Errorf("host %s: %w", a.role, err)
			}
			if h.Status != api.HostOnline {
				return fmt.Errorf("host %s is %s", a.role, h.Status)
			}
		}
		return nil
	})
}

func (b *bed) all() []int {
	out := make([]int, len(b.servers))
	for i := range out {
		out[i] = i
	}
	return out
}

// Client returns a pkg/api client for server i (through the client network) with the
// management token and the client's default retries.
func (b *bed) Client(i int) *api.Client {
	return b.ClientWith(i, 0)
}

// ClientWith is Client with RetryFor set (negative: no retries).
func (b *bed) ClientWith(i int, retryFor time.Duration) *api.Client {
	b.t.Helper()
	cl, err := api.NewClient(api.Config{Address: b.servers[i].URL(b), Token: b.token, RetryFor: retryFor,
		HTTPClient: &http.Client{Transport: &http.Transport{
			TLSClientConfig:       b.tls.clientConfig.Clone(),
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		}}})
	if err != nil {
		b.t.Fatal(err)
	}
	return cl
}

// health asks server i for /v1/health once. A degraded node answers 503 with the same body,
// which is decoded too.
func (b *bed) health(i int) (*api.Health, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.servers[i].URL(b)+"/v1/health", nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var h api.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return nil, fmt.Errorf("%s: health: HTTP %d: %w", b.servers[i].id, resp.StatusCode, err)
	}
	return &h, nil
}

// leaderAmong checks once that every server in among names the same leader, that the leader is
// one of them and says so itself, and returns its index.
func (b *bed) leaderAmong(among []int) (int, error) {
	leaderID, leader := "", -1
	for _, i := range among {
		h, err := b.health(i)
		if err != nil {
			return -1, fmt.Errorf("%s: %w", b.servers[i].id, err)
		}
		if h.NodeID != b.servers[i].id {
			return -1, fmt.Errorf("%s answers as node %q", b.servers[i].id, h.NodeID)
		}
		if h.Leader == "" {
			return -1, fmt.Errorf("%s (%s) knows no leader", h.NodeID, h.RaftState)
		}
		if leaderID == "" {
			leaderID = h.Leader
		} else if h.Leader != leaderID {
			return -1, fmt.Errorf("servers disagree on the leader: %q and %q", leaderID, h.Leader)
		}
		if h.NodeID == h.Leader {
			if h.RaftState != "leader" {
				return -1, fmt.Errorf("%s is named leader but its raft state is %q", h.NodeID, h.RaftState)
			}
			leader = i
		}
	}
	if leader < 0 {
		return -1, fmt.Errorf("the leader %q is not among the servers asked", leaderID)
	}
	return leader, nil
}

// WaitLeader waits until the servers in among agree on a leader among them.
func (b *bed) WaitLeader(timeout time.Duration, among []int) int {
	b.t.Helper()
	leader := -1
	eventually(b.t, timeout, "servers agree on a leader", func() error {
		var err error
		leader, err = b.leaderAmong(among)
		return err
	})
	return leader
}

// WaitToken waits until every server accepts the management token.
func (b *bed) WaitToken(timeout time.Duration) {
	b.t.Helper()
	for i, s := range b.servers {
		cl := b.Client(i)
		eventually(b.t, timeout, s.id+" accepts the management token", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := cl.TokenSelf(ctx)
			return err
		})
	}
}

// WaitHTTP waits until server i answers /v1/health at all (after a restart).
func (b *bed) WaitHTTP(i int, timeout time.Duration) {
	b.t.Helper()
	eventually(b.t, timeout, b.servers[i].id+" answers HTTP", func() error {
		_, err := b.health(i)
		return err
	})
}

// ---------------------------------------------------------------------------------------------
// Small helpers

// poll is testutil.Poll at the test bed's pace: most conditions here cost a docker exec or an
// HTTP round trip into a container, so the pauses grow to 250 ms.
func poll(timeout time.Duration, f func() error) error {
	return testutil.Poll(timeout, 250*time.Millisecond, f)
}

// eventually calls f until it returns nil or timeout passes, then fails the test with what and
// f's last error.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := poll(timeout, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newSecret(t testing.TB) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "slw_testbed-" + hex.EncodeToString(b[:])
}

// shortName turns the test's name into a short, Docker-safe tag.
func shortName(t testing.TB) string {
	n := strings.ToLower(strings.TrimPrefix(t.Name(), "Test"))
	var sb strings.Builder
	for _, r := range n {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			sb.WriteRune(r)
		}
	}
	s := sb.String()
	if len(s) > 20 {
		s = s[:20]
	}
	if s == "" {
		s = "bed"
	}
	return s
}
