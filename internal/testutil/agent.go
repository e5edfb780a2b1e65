package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

var (
	buildOnce sync.Once
	agentBin  string
	buildErr  error
)

// AgentBinary builds cmd/slipway-agent once per test binary and returns its path.
func AgentBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-agent-bin-")
		if err != nil {
			buildErr = err
			return
		}
		agentBin = filepath.Join(dir, "slipway-agent")
		out, err := exec.Command("go", "build", "-o", agentBin, "github.com/slipwayhq/slipway/cmd/slipway-agent").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build slipway-agent: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return agentBin
}

// Agent is a real slipway-agent process.
type Agent struct {
	t       testing.TB
	Name    string
	DataDir string
	args    []string
	mu      sync.Mutex
	cmd     *exec.Cmd
	log     *bytes.Buffer
	done    chan struct{}
}

// StartAgent registers a host named name with a fresh registration token from c and runs its
// agent as a process, against every server of c. Against a TLS cluster the agent gets the
// cluster's CA pin (--ca-pin), learns the CA from the first server and gets a host certificate. It is killed when the test ends; its output is
// logged if the test failed.
func StartAgent(t testing.TB, c *Cluster, name string, tags ...string) *Agent {
	t.Helper()
	tok, err := c.Client(c.Running()[0]).HostTokenCreate(context.Background(), api.HostTokenCreateRequest{})
	if err != nil {
		t.Fatalf("registration token: %v", err)
	}
	var servers []string
	for i := 0; i < c.Len(); i++ {
		servers = append(servers, c.URL(i))
	}
	a := &Agent{t: t, Name: name, DataDir: filepath.Join(t.TempDir(), "agent-"+name)}
	a.args = []string{"run", "--server", strings.Join(servers, ","),
		"--registration-token", tok.Token, "--data-dir", a.DataDir, "--name", name, "--log-level", "debug"}
	for _, tg := range tags {
		a.args = append(a.args, "--tag", tg)
	}
	if ct := c.TLS(); ct != nil {
		// The agent verifies the cluster as an operator's would: by the CA pin that
		// `slipway host token create` prints.
		if tok.CAPin == "" {
			t.Fatal("the TLS cluster created a registration token without a ca_pin")
		}
		a.args = append(a.args, "--ca-pin", tok.CAPin)
	}
	t.Cleanup(func() {
		a.Kill()
		if t.Failed() {
			a.mu.Lock()
			t.Logf("agent %s output:\n%s", name, a.log.String())
			a.mu.Unlock()
		}
	})
	a.Start()
	return a
}

// Start starts (or restarts) the agent process.
func (a *Agent) Start() {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	cmd := exec.Command(AgentBinary(a.t), a.args...)
	if a.log == nil {
		a.log = &bytes.Buffer{}
	}
	w := &lockedWriter{mu: &a.mu, b: a.log}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start agent: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	a.cmd, a.done = cmd, done
}

// Kill stops the agent with SIGKILL (only the agent: the scripts it started live on, as they
// would under systemd's KillMode=process).
func (a *Agent) Kill() {
	a.mu.Lock()
	cmd, done := a.cmd, a.done
	a.cmd = nil
	a.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
}

// Args returns the agent's command-line arguments (run ...).
func (a *Agent) Args() []string { return append([]string(nil), a.args...) }

// SetArgs replaces the agent's command-line arguments for its next Start.
func (a *Agent) SetArgs(args []string) { a.args = append([]string(nil), args...) }

// Output returns what the agent printed so far.
func (a *Agent) Output() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// WaitHost waits until the named host is online.
func (c *Cluster) WaitHost(name string) {
	c.t.Helper()
	Eventually(c.t, 30*time.Second, func() error {
		h, err := c.Client(c.Running()[0]).HostGet(context.Background(), name, &api.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if h.Status != api.HostOnline {
			return fmt.Errorf("host %s is %s", name, h.Status)
		}
		return nil
	})
}

// Pause freezes the agent process (SIGSTOP): it stays connected but does nothing.
func (a *Agent) Pause() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd != nil {
		_ = a.cmd.Process.Signal(syscall.SIGSTOP)
	}
}
