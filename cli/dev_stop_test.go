//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
)

// TestDevStopEndsRunningHooks: stopping `slipway dev` (Ctrl-C: its context ends) while an
// embedded agent runs a hook that would sleep for minutes ends that hook's process, and the agent
// records the deployment failed as cancelled because it stopped.
func TestDevStopEndsRunningHooks(t *testing.T) {
	dev := startDev(t)
	dir, data, cli := dev.dir, dev.data, dev.cli
	pidFile := filepath.Join(dir, "pid")
	bundle := filepath.Join(dir, "bundle")
	writeFiles(t, bundle, map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: start.sh\n      timeout: 600\n",
		"start.sh":    fmt.Sprintf("#!/bin/sh\necho $$ > %[1]s.tmp && mv %[1]s.tmp %[1]s\nexec sleep 300\n", pidFile),
	})
	if r := cli("app", "create", "hello"); r.code != 0 {
		t.Fatalf("app create: %+v", r)
	}
	r := cli("revision", "push", "--app", "hello", bundle, "--output", "json")
	var rev struct{ ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rev) != nil {
		t.Fatalf("revision push: %+v", r)
	}
	r = cli("deploy", "create", "--app", "hello", "--revision", rev.ID, "--host", "dev-1", "--output", "json")
	var dep struct{ ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &dep) != nil {
		t.Fatalf("deploy create: %+v", r)
	}
	var pid int
	testutil.Eventually(t, 60*time.Second, func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) }) // the hook leads its process group

	dev.stop() // Ctrl-C
	testutil.Eventually(t, 30*time.Second, func() error {
		if processAlive(pid) {
			return fmt.Errorf("the hook's process %d outlived slipway dev", pid)
		}
		return nil
	})
	b, err := os.ReadFile(filepath.Join(data, "agents", "dev-1", "deployment-root", "deployment-results", dep.ID))
	if err != nil {
		t.Fatalf("the agent recorded no end of %s: %v", dep.ID, err)
	}
	var res struct{ Status, Event, Result, Message string }
	if json.Unmarshal(b, &res) != nil || res.Status != "failed" || res.Event != "ApplicationStart" || res.Result != "cancelled" ||
		!strings.Contains(res.Message, "the agent is stopping") {
		t.Fatalf("the agent recorded %s; want ApplicationStart failed, cancelled because the agent is stopping", b)
	}
}

// writeFiles writes files (relative path: content) under dir, scripts executable.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// processAlive reports whether process pid runs (a zombie, which runs nothing, counts as gone).
func processAlive(pid int) bool {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// "pid (comm) STATE ...": the state follows the last ')'.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
			return s[i+2] != 'Z'
		}
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// devRun is a `slipway dev --agents 1` running in this process.
type devRun struct {
	dir, data string
	addr      string
	out       *syncBuffer
	cli       func(args ...string) result
	stop      func() // Ctrl-C, then wait for a clean exit
}

// startDev runs `slipway dev --agents 1` in this process, in a temporary folder, until it is
// ready; the test's cli talks to it with its management token.
func startDev(t *testing.T) devRun {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "dev")
	ports := testutil.FreePorts(t, 2)
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	out := &syncBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"dev", "--agents", "1", "--data-dir", data, "--http-addr", addr,
			"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1])}, Options{Stdout: out, Stderr: out, Getenv: func(string) string { return "" }})
	}()
	testutil.Eventually(t, 60*time.Second, func() error {
		select {
		case code := <-exited:
			t.Fatalf("slipway dev exited with %d:\n%s", code, out.String())
		default:
		}
		if !strings.Contains(out.String(), "Press Ctrl-C to stop.") {
			return errors.New("slipway dev is not ready")
		}
		return nil
	})
	token, err := os.ReadFile(filepath.Join(data, devTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) result {
		return runWith(t, context.Background(), nil, append([]string{"--addr", "http://" + addr, "--token", strings.TrimSpace(string(token))}, args...)...)
	}

	return devRun{dir: dir, data: data, addr: addr, out: out, cli: cli, stop: func() {
		stop()
		select {
		case code := <-exited:
			if code != ExitOK {
				t.Fatalf("slipway dev exited with %d:\n%s", code, out.String())
			}
		case <-time.After(90 * time.Second):
			t.Fatalf("slipway dev did not stop:\n%s", out.String())
		}
	}}
}

// TestDevStopEndsTheExampleService: the README's example deployed to a `slipway dev` host
// installs under that host's own root (no shared folder), starts its service without a warning,
// and stopping slipway dev ends the service the finished ApplicationStart left running: the
// simulated host powers off with the process.
func TestDevStopEndsTheExampleService(t *testing.T) {
	dev := startDev(t)
	if r := dev.cli("app", "create", "hello"); r.code != 0 {
		t.Fatalf("app create: %+v", r)
	}
	r := dev.cli("revision", "push", "--app", "hello", filepath.Join("..", "examples", "hello"), "--output", "json")
	var rev struct{ ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rev) != nil {
		t.Fatalf("revision push: %+v", r)
	}
	r = dev.cli("deploy", "create", "--app", "hello", "--revision", rev.ID, "--host", "dev-1", "--watch")
	if r.code != 0 {
		t.Fatalf("deploy --watch: %+v", r)
	}
	if strings.Contains(strings.ToLower(r.stdout), "warning") || strings.Contains(r.stdout, "holds its stdout") {
		t.Fatalf("the example warns:\n%s", r.stdout)
	}
	app := filepath.Join(dev.data, "agents", "dev-1", "root", "srv", "hello")
	if _, err := os.Stat(filepath.Join(app, "site", "index.html")); err != nil {
		t.Fatalf("the site is not under dev-1's root: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(app, "run", "service.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !processAlive(pid) {
		t.Fatalf("the example's service (pid file %q) is not running: %v", b, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	dev.stop() // Ctrl-C
	testutil.Eventually(t, 30*time.Second, func() error {
		if processAlive(pid) {
			return fmt.Errorf("the example's service %d outlived slipway dev", pid)
		}
		return nil
	})
}
