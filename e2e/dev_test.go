//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestDevProcess (scenario 4): `slipway dev` run as a process on non-default ports prints the
// export lines, serves the CLI, stops cleanly on SIGINT, and a second run on the same data dir
// keeps the data and prints the same token.
func TestDevProcess(t *testing.T) {
	cwd := t.TempDir()
	dataDir := filepath.Join(t.TempDir(), "dev data") // a space, as in a real home folder
	ports := freePorts(t, 3)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	args := []string{"dev", "--data-dir", dataDir, "--http-addr", httpAddr, "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--ssh-addr", fmt.Sprintf("127.0.0.1:%d", ports[2])}

	// First run.
	start := time.Now()
	dev := startProcIn(t, cwd, "dev", nil, args...)
	addr, token := waitDevExports(t, dev)
	t.Logf("slipway dev ready in %s", time.Since(start).Round(time.Millisecond))
	if addr != "http://"+httpAddr {
		t.Errorf("export SLIPWAY_ADDR=%s, want http://%s", addr, httpAddr)
	}
	if want := fmt.Sprintf("Git SSH: ssh://git@127.0.0.1:%d/NAME.git", ports[2]); !strings.Contains(dev.Stdout(), want) {
		t.Errorf("slipway dev does not print %q:\n%s", want, dev.Stdout())
	}
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + token}
	if r := runCLI(t, "", env, "app", "create", "my-app"); r.code != 0 || !strings.Contains(r.stdout, "my-app") {
		t.Fatalf("app create against slipway dev: %s", r)
	}
	if st, err := os.Stat(filepath.Join(dataDir, "dev-management-token")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("dev token file: %v, mode %v; want mode 0600", err, modeOf(st))
	}
	stopDev(t, dev, dataDir)
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Errorf("slipway dev with --data-dir wrote into its working directory: %v", entries)
	}

	// Second run on the same data dir: same token, the app is still there.
	dev2 := startProcIn(t, cwd, "dev", nil, args...)
	addr2, token2 := waitDevExports(t, dev2)
	if addr2 != addr || token2 != token {
		t.Errorf("second run printed SLIPWAY_ADDR=%s SLIPWAY_TOKEN=%s, want the first run's %s and %s", addr2, token2, addr, token)
	}
	env = []string{"SLIPWAY_ADDR=" + addr2, "SLIPWAY_TOKEN=" + token2}
	r := runCLI(t, "", env, "app", "get", "my-app", "--output", "json")
	var app api.App
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &app) != nil || app.Name != "my-app" {
		t.Fatalf("my-app after a restart of slipway dev: %s", r)
	}
	stopDev(t, dev2, dataDir)
}

// waitDevExports waits until slipway dev has printed its export lines and returns the address
// and token they set.
func waitDevExports(t testing.TB, p *proc) (addr, token string) {
	t.Helper()
	eventually(t, 60*time.Second, "slipway dev prints its export lines", func() error {
		if p.Exited() {
			t.Fatalf("slipway dev exited before it was ready (%v)\nstdout:\n%s\nstderr:\n%s", p.cmd.ProcessState, p.Stdout(), p.Stderr())
		}
		out := p.Stdout()
		if !strings.Contains(out, "Press Ctrl-C to stop.") {
			return errors.New("not ready yet")
		}
		addr, token = "", ""
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, "export SLIPWAY_ADDR="); ok {
				addr = v
			}
			if v, ok := strings.CutPrefix(line, "export SLIPWAY_TOKEN="); ok {
				token = v
			}
		}
		if addr == "" || token == "" {
			return fmt.Errorf("no export lines for SLIPWAY_ADDR and SLIPWAY_TOKEN in:\n%s", out)
		}
		return nil
	})
	return addr, token
}

// stopDev sends SIGINT (Ctrl-C) and expects a clean stop: exit code 0 and the goodbye line.
func stopDev(t testing.TB, p *proc, dataDir string) {
	t.Helper()
	p.Signal(syscall.SIGINT)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("slipway dev exited with code %d after SIGINT, want 0\nstderr:\n%s", code, p.Stderr())
	}
	if want := "Slipway dev stopped; data kept in " + dataDir; !strings.Contains(p.Stdout(), want) {
		t.Errorf("stdout after SIGINT lacks %q:\n%s", want, p.Stdout())
	}
}

func modeOf(st os.FileInfo) os.FileMode {
	if st == nil {
		return 0
	}
	return st.Mode().Perm()
}
