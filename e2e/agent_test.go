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
// every hook in order with live output.
func TestNewcomerDeploysTheExample(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the example bundle installs into /tmp as the agent's user; run as root like CI")
	}
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "examples", "hello")
	ports := freePorts(t, 2)
	dataDir := t.TempDir()
	dev := startProc(t, "dev", nil, "dev", "--data-dir", filepath.Join(dataDir, "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]))
	addr, token := waitDevExports(t, dev)
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + token}

	r := runCLI(t, "", env, "host", "token", "create", "--output", "json")
	var ht api.HostToken
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ht) != nil || ht.Token == "" {
		t.Fatalf("host token create: %s", r)
	}
	agent := startBin(t, agentBin, "", "agent", nil, "run", "--server", addr, "--registration-token", ht.Token,
		"--data-dir", filepath.Join(dataDir, "agent"), "--name", "laptop")
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
	t.Cleanup(func() { // the example's ApplicationStart leaves a small daemon behind, by design
		if pid, err := os.ReadFile("/tmp/slipway-hello/laptop/server.pid"); err == nil {
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
	if _, err := os.Stat("/tmp/slipway-hello/site/index.html"); err != nil {
		t.Fatalf("the bundle's files were not installed: %v", err)
	}
}
