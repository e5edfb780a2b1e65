//go:build e2e

// Package e2e holds Slipway's slow end-to-end scenarios. They run the real binaries as separate
// processes (bin/slipway server, bin/slipway dev and the CLI itself) on loopback addresses and
// random free ports, and talk to them through the CLI and the public Go client in pkg/api.
//
// Run them with `make e2e`, which builds bin/ and points SLIPWAY_BIN at it. Without SLIPWAY_BIN
// the suite builds the binary into a temporary folder first.
//
// Every process runs in its own process group with stdout and stderr captured to files in the
// test's temporary folder; the files are printed through t.Log when the test fails, and every
// process still running is killed in t.Cleanup.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// slipwayBin is the path of the slipway binary under test.
var slipwayBin string

// agentBin is the path of the slipway-agent binary under test.
var agentBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir := os.Getenv("SLIPWAY_BIN")
	if dir == "" {
		tmp, err := os.MkdirTemp("", "slipway-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		fmt.Fprintln(os.Stderr, "e2e: SLIPWAY_BIN is not set; building slipway into", tmp)
		for _, prog := range []string{"slipway", "slipway-agent"} {
			build := exec.Command("go", "build", "-o", filepath.Join(tmp, prog), "github.com/slipwayhq/slipway/cmd/"+prog)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			if err := build.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "e2e: build "+prog+":", err)
				return 1
			}
		}
		dir = tmp
	}
	slipwayBin = filepath.Join(dir, "slipway")
	agentBin = filepath.Join(dir, "slipway-agent")
	if st, err := os.Stat(slipwayBin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		fmt.Fprintf(os.Stderr, "e2e: %s is not an executable (SLIPWAY_BIN=%q): run `make e2e`\n", slipwayBin, dir)
		return 1
	}
	return m.Run()
}

// ---------------------------------------------------------------------------------------------
// Polling

// eventually calls f until it returns nil or timeout passes, then fails the test with what and
// f's last error. The pauses between calls are polling intervals, never a wait for an event.
func eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := testutil.Poll(timeout, 100*time.Millisecond, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ---------------------------------------------------------------------------------------------
// Processes

// proc is one running slipway process.
type proc struct {
	t          testing.TB
	name       string
	cmd        *exec.Cmd
	stdoutPath string
	stderrPath string
	started    time.Time

	done     chan struct{} // closed once the process has exited and been reaped
	waitErr  error         // cmd.Wait's answer, set before done is closed
	exitedAt time.Time     // when cmd.Wait returned, set before done is closed
}

var logSeq struct {
	sync.Mutex
	n map[string]int
}

// startProc starts bin/slipway with args in its own process group. env holds extra variables;
// any SLIPWAY_* variable of the test's own environment is dropped so a developer's shell cannot
// change what a test sees. Output goes to files in a temporary folder.
func startProc(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	return startProcIn(t, "", name, env, args...)
}

func startProcIn(t testing.TB, dir, name string, env []string, args ...string) *proc {
	t.Helper()
	return startBin(t, slipwayBin, dir, name, env, args...)
}

// startBin starts the program bin (slipway or slipway-agent) like startProcIn.
func startBin(t testing.TB, bin, dir, name string, env []string, args ...string) *proc {
	t.Helper()
	logDir := t.TempDir()
	logSeq.Lock()
	if logSeq.n == nil {
		logSeq.n = map[string]int{}
	}
	logSeq.n[name]++
	if n := logSeq.n[name]; n > 1 {
		name = fmt.Sprintf("%s#%d", name, n)
	}
	logSeq.Unlock()
	base := strings.NewReplacer("/", "_", "#", "_").Replace(name)
	p := &proc{
		t: t, name: name, done: make(chan struct{}),
		stdoutPath: filepath.Join(logDir, base+".stdout"),
		stderrPath: filepath.Join(logDir, base+".stderr"),
	}
	stdout, err := os.Create(p.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdout.Close() }()
	stderr, err := os.Create(p.stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stderr.Close() }()

	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = childEnv(env)
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	p.cmd.SysProcAttr = procAttr()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p.started = time.Now()
	go func() {
		p.waitErr = p.cmd.Wait()
		p.exitedAt = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.dump()
		}
	})
	return p
}

// childEnv is the test's environment without SLIPWAY_* variables, plus extra.
func childEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLIPWAY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Exited reports whether the process has exited.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process's group.
func (p *proc) Signal(sig syscall.Signal) {
	p.t.Helper()
	if p.Exited() {
		p.t.Fatalf("%s: cannot send %v: the process has already exited (%v)", p.name, sig, p.waitErr)
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		p.t.Fatalf("%s: send %v: %v", p.name, sig, err)
	}
}

// Wait waits up to timeout for the process to exit and returns its exit code (-1 when a signal
// ended it). It fails the test if the process is still running at the deadline.
func (p *proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %s", p.name, timeout)
	}
	return p.cmd.ProcessState.ExitCode()
}

// Kill kills the process group with SIGKILL, as a crash or the OOM killer would, and reaps the
// process. It does nothing if the process has exited.
func (p *proc) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("%s: still running 10s after SIGKILL", p.name)
	}
}

// Stdout returns what the process has written to stdout so far.
func (p *proc) Stdout() string { return readFile(p.stdoutPath) }

// Stderr returns what the process has written to stderr so far.
func (p *proc) Stderr() string { return readFile(p.stderrPath) }

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// dump prints the tail of the process's output through t.Log.
func (p *proc) dump() {
	state := "running"
	if p.Exited() {
		state = p.cmd.ProcessState.String()
	}
	p.t.Logf("==== %s (pid %d, %s): %s", p.name, p.cmd.Process.Pid, state, strings.Join(p.cmd.Args, " "))
	for _, f := range []struct{ label, path string }{{"stdout", p.stdoutPath}, {"stderr", p.stderrPath}} {
		p.t.Logf("---- %s %s:\n%s", p.name, f.label, tail(readFile(f.path), 64<<10))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "[... earlier output cut ...]\n" + s
}

// ---------------------------------------------------------------------------------------------
// The CLI

// cliResult is what one run of the slipway CLI did.
type cliResult struct {
	args   []string
	code   int
	stdout string
	stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("slipway %s: exit %d\nstdout: %q\nstderr: %q", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runCLI runs bin/slipway with args and env (KEY=VALUE) to completion, in dir when not empty.
func runCLI(t testing.TB, dir string, env []string, args ...string) cliResult {
	t.Helper()
	return runCLIIn(t, dir, env, "", args...)
}

// runCLIIn is runCLI with stdin.
func runCLIIn(t testing.TB, dir string, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, slipwayBin, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(env)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = procAttr()
	err := cmd.Run()
	r := cliResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.code = ee.ExitCode()
	default:
		t.Fatalf("slipway %s: %v\nstderr: %s", strings.Join(args, " "), err, r.stderr)
	}
	return r
}

// ---------------------------------------------------------------------------------------------
// Servers and clusters

// freePorts returns n distinct free loopback ports. Another program could take one before the
// server binds it; startNode retries a start that met "address already in use".
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}

func newSecret(t testing.TB) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "slw_e2e-" + hex.EncodeToString(b[:])
}

// node is one `slipway server` of a cluster: its settings and its current process.
type node struct {
	index    int
	id       string // node ID: given with --node-id, or learnt from /v1/health
	giveID   bool   // pass --node-id
	dataDir  string
	httpAddr string // host:port
	raftAddr string // host:port
	sshAddr  string // host:port of git over SSH (given to the binary under test only)
	proc     *proc  // nil before the first start
}

// URL returns the node's HTTP base URL.
func (n *node) URL() string { return "http://" + n.httpAddr }

// cluster is a set of `slipway server` processes started to form one cluster.
type cluster struct {
	t         testing.TB
	bin       string // the slipway binary the servers run
	token     string
	tokenFile string
	kekFile   string
	join      string
	expect    int
	config    string // --config file, or ""
	nodes     []*node
}

// clusterOptions tune startCluster.
type clusterOptions struct {
	// NoNodeIDs starts the servers without --node-id, so each generates its own and keeps it in
	// its data dir.
	NoNodeIDs bool
	// Config, when set, is written to a YAML file passed with --config (e.g. Raft timings).
	Config string
	// Bin, when set, is the slipway binary the servers run (default: the one under test), e.g.
	// one of an earlier release for a mixed-version test.
	Bin string
}

// startCluster starts n servers with --bootstrap-expect n --join <all Raft addresses> and an
// initial management token, and waits until each answers HTTP. It does not wait for a leader.
func startCluster(t testing.TB, n int, o clusterOptions) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, bin: slipwayBin, token: newSecret(t), tokenFile: filepath.Join(dir, "management.token"), expect: n}
	if o.Bin != "" {
		c.bin = o.Bin
	}
	c.kekFile = filepath.Join(dir, "keyring.kek")
	if out, err := exec.Command(slipwayBin, "operator", "keyring", "kek", "create", "--out", c.kekFile).CombinedOutput(); err != nil {
		t.Fatalf("create the cluster's KEK file: %v: %s", err, out)
	}
	if err := os.WriteFile(c.tokenFile, []byte(c.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if o.Config != "" {
		c.config = filepath.Join(dir, "slipway.yml")
		if err := os.WriteFile(c.config, []byte(o.Config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ports := freePorts(t, 3*n)
	var join []string
	for i := range n {
		nd := &node{
			index: i, giveID: !o.NoNodeIDs,
			dataDir:  filepath.Join(dir, fmt.Sprintf("data%d", i)),
			httpAddr: fmt.Sprintf("127.0.0.1:%d", ports[2*i]),
			raftAddr: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]),
			sshAddr:  fmt.Sprintf("127.0.0.1:%d", ports[2*n+i]),
		}
		if nd.giveID {
			nd.id = fmt.Sprintf("node%d", i)
		}
		c.nodes = append(c.nodes, nd)
		join = append(join, nd.raftAddr)
	}
	c.join = strings.Join(join, ",")
	for i := range c.nodes {
		c.launch(i)
	}
	for i := range c.nodes {
		c.waitHTTP(i)
	}
	return c
}

func (c *cluster) args(i int) []string {
	nd := c.nodes[i]
	args := []string{"server",
		"--data-dir", nd.dataDir,
		"--http-addr", nd.httpAddr,
		"--raft-addr", nd.raftAddr,
		"--initial-management-token-file", c.tokenFile,
		"--keyring-kek-file", c.kekFile,
	}
	if c.bin == slipwayBin {
		args = append(args, "--ssh-addr", nd.sshAddr)
	}
	if c.expect > 1 {
		args = append(args, "--bootstrap-expect", fmt.Sprint(c.expect), "--join", c.join)
	}
	if nd.giveID {
		args = append(args, "--node-id", nd.id)
	}
	if c.config != "" {
		args = append(args, "--config", c.config)
	}
	return args
}

func (c *cluster) launch(i int) {
	c.t.Helper()
	c.nodes[i].proc = startBin(c.t, c.bin, "", fmt.Sprintf("server%d", i), nil, c.args(i)...)
}

// Restart starts server i again on its data dir (it must have exited) and waits for its HTTP
// port. A port still held by the previous incarnation is retried for a while.
func (c *cluster) Restart(i int) {
	c.t.Helper()
	if p := c.nodes[i].proc; p != nil && !p.Exited() {
		c.t.Fatalf("server%d is still running", i)
	}
	c.launch(i)
	c.waitHTTP(i)
}

// waitHTTP waits until server i answers on its HTTP port. A server that exits first fails the
// test, unless it met a port in use, which is retried with a fresh process.
func (c *cluster) waitHTTP(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	deadline := time.Now().Add(30 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(nd.URL() + "/v1/health")
		if err == nil {
			_ = resp.Body.Close()
			return
		}
		if nd.proc.Exited() {
			if strings.Contains(nd.proc.Stderr(), "address already in use") && time.Now().Before(deadline) {
				c.launch(i)
				continue
			}
			c.t.Fatalf("server%d exited during start (%v):\n%s", i, nd.proc.cmd.ProcessState, nd.proc.Stderr())
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("server%d does not answer on %s after 30s: %v", i, nd.httpAddr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Client returns a pkg/api client for server i with the management token.
func (c *cluster) Client(i int) *api.Client {
	c.t.Helper()
	cl, err := api.NewClient(api.Config{Address: c.nodes[i].URL(), Token: c.token})
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// Env returns the CLI environment for talking to server i.
func (c *cluster) Env(i int) []string {
	return []string{"SLIPWAY_ADDR=" + c.nodes[i].URL(), "SLIPWAY_TOKEN=" + c.token}
}

// Running returns the indexes of servers whose process runs.
func (c *cluster) Running() []int {
	var out []int
	for i, nd := range c.nodes {
		if nd.proc != nil && !nd.proc.Exited() {
			out = append(out, i)
		}
	}
	return out
}

// health asks server i for /v1/health once, without retries.
func (c *cluster) health(i int) (*api.Health, error) {
	cl, err := api.NewClient(api.Config{Address: c.nodes[i].URL(), RetryFor: -1})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return cl.Health(ctx)
}

// leaderAmong checks once that every server in among is healthy, that they all name the same
// leader, that the leader is one of them and says so itself, and returns its index. Node IDs
// learnt from /v1/health are recorded.
func (c *cluster) leaderAmong(among []int) (int, error) {
	if len(among) == 0 {
		return -1, errors.New("no server to ask")
	}
	leaderID := ""
	leader := -1
	for _, i := range among {
		h, err := c.health(i)
		if err != nil {
			return -1, fmt.Errorf("server%d: %w", i, err)
		}
		if c.nodes[i].id == "" {
			c.nodes[i].id = h.NodeID
		} else if c.nodes[i].id != h.NodeID {
			return -1, fmt.Errorf("server%d answers as node %q, want %q", i, h.NodeID, c.nodes[i].id)
		}
		if h.Leader == "" {
			return -1, fmt.Errorf("server%d (%s) knows no leader", i, h.NodeID)
		}
		if leaderID == "" {
			leaderID = h.Leader
		} else if h.Leader != leaderID {
			return -1, fmt.Errorf("servers disagree on the leader: %q and %q", leaderID, h.Leader)
		}
		if h.NodeID == h.Leader {
			if h.RaftState != "leader" {
				return -1, fmt.Errorf("server%d is named leader but its raft state is %q", i, h.RaftState)
			}
			leader = i
		}
	}
	if leader < 0 {
		return -1, fmt.Errorf("the leader %q is not among servers %v", leaderID, among)
	}
	return leader, nil
}

// WaitLeader waits until the running servers agree on a leader among them and returns it.
func (c *cluster) WaitLeader(timeout time.Duration) int {
	c.t.Helper()
	leader := -1
	eventually(c.t, timeout, "wait for a leader", func() error {
		var err error
		leader, err = c.leaderAmong(c.Running())
		return err
	})
	return leader
}

// WaitToken waits until every running server accepts the management token.
func (c *cluster) WaitToken(timeout time.Duration) {
	c.t.Helper()
	for _, i := range c.Running() {
		cl := c.Client(i)
		eventually(c.t, timeout, fmt.Sprintf("server%d accepts the management token", i), func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := cl.TokenSelf(ctx)
			return err
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// logMachine notes the machine the timings were taken on.
func logMachine(t testing.TB) {
	t.Logf("machine: %s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}
