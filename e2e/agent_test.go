//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestNewcomerDeploysTheExample is the agent milestone's "done when": slipway dev, an agent
// started with a registration token, the example bundle pushed and a deployment watched running
// every hook in order with live output. The example installs under the agent's install root
// (no shared folder, no root needed), starts its service without holding the hook's output
// (no warning), and its ApplicationStop stops it.
func TestNewcomerDeploysTheExample(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "examples", "hello")
	ports := freePorts(t, 2)
	dataDir := t.TempDir()
	dev := startProc(t, "dev", nil, "dev", "--data-dir", filepath.Join(dataDir, "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--ssh-addr", "off")
	addr, token := waitDevExports(t, dev)
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + token}

	r := runCLI(t, "", env, "host", "token", "create", "--output", "json")
	var ht api.HostToken
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ht) != nil || ht.Token == "" {
		t.Fatalf("host token create: %s", r)
	}
	agent := startBin(t, agentBin, "", "agent", nil, "run", "--server", addr, "--registration-token", ht.Token,
		"--data-dir", filepath.Join(dataDir, "agent"), "--name", "laptop", "--install-root", filepath.Join(dataDir, "root"))
	app := filepath.Join(dataDir, "root", "srv", "hello")
	eventually(t, 30*time.Second, "the host to come online", func() error {
		r := runCLI(t, "", env, "host", "get", "laptop", "--output", "json")
		var h api.Host
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &h) != nil {
			return fmt.Errorf("%s", r)
		}
		if h.Status != api.HostOnline {
			return fmt.Errorf("host is %s", h.Status)
		}
		return nil
	})
	if r := runCLI(t, "", env, "app", "create", "hello"); r.code != 0 {
		t.Fatalf("app create: %s", r)
	}
	r = runCLI(t, "", env, "revision", "push", "--app", "hello", example, "--output", "json")
	var rev api.Revision
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rev) != nil || rev.ID == "" {
		t.Fatalf("revision push: %s", r)
	}
	t.Cleanup(func() { // a service outlives the agent on a real host, by design
		if pid, err := os.ReadFile(filepath.Join(app, "run", "service.pid")); err == nil {
			var n int
			if _, err := fmt.Sscan(string(pid), &n); err == nil && n > 1 {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
	})
	r = runCLI(t, "", env, "deploy", "create", "--app", "hello", "--revision", rev.ID, "--host", "laptop", "--watch")
	if r.code != 0 {
		t.Fatalf("deploy --watch: %s\nagent: %s", r, agent.Stdout())
	}
	out := r.stdout
	order := []string{"ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart", "ValidateService"}
	last := -1
	for _, ev := range order {
		i := strings.Index(out, "laptop  "+ev)
		if i < 0 || i < last {
			t.Fatalf("event %s missing or out of order in:\n%s", ev, out)
		}
		last = i
	}
	for _, live := range []string{"| BeforeInstall    | BeforeInstall of hello", "| ValidateService  | service is up", "succeeded"} {
		if !strings.Contains(out, live) {
			t.Fatalf("watch output lacks %q:\n%s", live, out)
		}
	}
	if strings.Contains(strings.ToLower(out), "warning") || strings.Contains(out, "holds its stdout") {
		t.Fatalf("the example warns:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(app, "site", "index.html")); err != nil {
		t.Fatalf("the bundle's files were not installed under the install root: %v", err)
	}
	pid := servicePID(t, app)

	// A second deployment's ApplicationStop (the first revision's stop.sh) stops the service.
	r = runCLI(t, "", env, "deploy", "create", "--app", "hello", "--revision", rev.ID, "--host", "laptop", "--watch")
	if r.code != 0 || !strings.Contains(r.stdout, "stopping the service on laptop") {
		t.Fatalf("second deploy --watch: %s", r)
	}
	eventually(t, 10*time.Second, "the first service to end", func() error {
		if err := syscall.Kill(pid, 0); err == nil {
			return fmt.Errorf("pid %d still runs", pid)
		}
		return nil
	})
	if next := servicePID(t, app); next == pid {
		t.Fatalf("the second deployment did not start a new service (pid %d)", next)
	}
}

// servicePID reads the example service's PID file under app.
func servicePID(t *testing.T, app string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(app, "run", "service.pid"))
	var pid int
	if err == nil {
		_, err = fmt.Sscan(string(b), &pid)
	}
	if err != nil || pid <= 1 {
		t.Fatalf("the example's service PID file: %v (%q)", err, b)
	}
	return pid
}
