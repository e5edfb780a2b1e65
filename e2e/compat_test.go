//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// previousRelease is the last commit before the agent contract gained versions and kinds
// (agentproto protocol 1): its agent and server must still work with this tree's.
const previousRelease = "94636b2"

// TestMixedVersions deploys across one release step of the agent protocol, in both upgrade
// orders (see pkg/agentproto, "Versions and capabilities"), and within this release:
//
//   - an agent of the previous release (protocol 1, no agent headers) registers with servers of
//     this tree, which treat it as [deploy], and runs a deployment whose events and output are
//     recorded;
//   - an agent of this tree registers with a server of the previous release (which ignores its
//     headers and sends a Hello without a protocol) and does the same;
//   - an agent and servers of this tree exchange their versions and kinds (headers, Hello).
//
// The previous release is built from commit 94636b2 of this repository's history, which the
// test needs (a shallow clone fails it, saying so).
func TestMixedVersions(t *testing.T) {
	logMachine(t)
	old := buildPreviousRelease(t)

	t.Run("old agent, new servers", func(t *testing.T) {
		c := startCluster(t, 1, clusterOptions{})
		c.WaitLeader(30 * time.Second)
		c.WaitToken(30 * time.Second)
		startAgent(t, c, old.agent, "old-agent")
		deployTo(t, c, "old-agent")
		server := c.nodes[0].proc.Stdout() + c.nodes[0].proc.Stderr()
		if !strings.Contains(server, "agent connected") || !strings.Contains(server, "protocol=1 capabilities=[deploy]") {
			t.Fatalf("the server did not take the old agent for protocol 1 with [deploy]; its log:\n%s", tail(server, 8<<10))
		}
	})

	t.Run("new agent, new servers", func(t *testing.T) {
		c := startCluster(t, 1, clusterOptions{})
		c.WaitLeader(30 * time.Second)
		c.WaitToken(30 * time.Second)
		agent := startAgent(t, c, agentBin, "new-agent")
		deployTo(t, c, "new-agent")
		server := c.nodes[0].proc.Stdout() + c.nodes[0].proc.Stderr()
		if !strings.Contains(server, "protocol=2 capabilities=[deploy]") {
			t.Fatalf("the server did not read the agent's headers; its log:\n%s", tail(server, 8<<10))
		}
		if out := agent.Stdout() + agent.Stderr(); !strings.Contains(out, `server_protocol=2 server_kinds="[deploy build]"`) {
			t.Fatalf("the agent did not read the server's hello; its log:\n%s", tail(out, 8<<10))
		}
	})

	t.Run("new agent, old server", func(t *testing.T) {
		c := startCluster(t, 1, clusterOptions{Bin: old.slipway})
		c.WaitLeader(30 * time.Second)
		c.WaitToken(30 * time.Second)
		agent := startAgent(t, c, agentBin, "new-agent")
		deployTo(t, c, "new-agent")
		out := agent.Stdout() + agent.Stderr()
		if !strings.Contains(out, "session open") || !strings.Contains(out, "server_protocol=1") {
			t.Fatalf("the new agent did not see a protocol 1 server; its log:\n%s", tail(out, 8<<10))
		}
	})
}

// previousBins are the binaries of previousRelease.
type previousBins struct{ slipway, agent string }

// buildPreviousRelease extracts previousRelease from the repository holding this test (git
// archive, so the repository's worktrees are left alone) and builds its slipway and
// slipway-agent with the same Go toolchain and module cache.
func buildPreviousRelease(t *testing.T) previousBins {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root, err := exec.Command("git", "-C", filepath.Dir(file), "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("the mixed-version test builds the previous release from this repository's git history, but %s is not in a git checkout: %v", filepath.Dir(file), err)
	}
	repo := strings.TrimSpace(string(root))
	if err := exec.Command("git", "-C", repo, "cat-file", "-e", previousRelease+"^{commit}").Run(); err != nil {
		shallow, _ := exec.Command("git", "-C", repo, "rev-parse", "--is-shallow-repository").Output()
		t.Fatalf("commit %s (the previous release, which the mixed-version test builds) is not in the history of %s (shallow clone: %s): fetch the full history (git fetch --unshallow) and run the test again",
			previousRelease, repo, strings.TrimSpace(string(shallow)))
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "src"), filepath.Join(dir, "bin")
	for _, d := range []string{src, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	archive := exec.Command("git", "-C", repo, "archive", "--format=tar", previousRelease)
	untar := exec.Command("tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	untar.Stdin = pipe
	var aerr, uerr strings.Builder
	archive.Stderr, untar.Stderr = &aerr, &uerr
	if err := untar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s: %v: %s", previousRelease, err, aerr.String())
	}
	if err := untar.Wait(); err != nil {
		t.Fatalf("extract %s: %v: %s", previousRelease, err, uerr.String())
	}
	start := time.Now()
	for _, prog := range []string{"slipway", "slipway-agent"} {
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X github.com/slipwayhq/slipway/internal/version.Version="+previousRelease,
			"-o", filepath.Join(bin, prog), "./cmd/"+prog)
		build.Dir = src
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s of %s: %v\n%s", prog, previousRelease, err, out)
		}
	}
	t.Logf("built slipway and slipway-agent of %s in %s", previousRelease, time.Since(start).Round(time.Second))
	return previousBins{slipway: filepath.Join(bin, "slipway"), agent: filepath.Join(bin, "slipway-agent")}
}

// startAgent starts the agent binary bin as host name, registered with a fresh registration
// token of cluster c, and waits until the host is online.
func startAgent(t *testing.T, c *cluster, bin, name string) *proc {
	t.Helper()
	env := c.Env(0)
	r := runCLI(t, "", env, "host", "token", "create", "--output", "json")
	var ht api.HostToken
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ht) != nil || ht.Token == "" {
		t.Fatalf("host token create: %s", r)
	}
	agent := startBin(t, bin, "", name, nil, "run", "--server", c.nodes[0].URL(), "--registration-token", ht.Token,
		"--data-dir", filepath.Join(t.TempDir(), "agent"), "--name", name)
	eventually(t, 60*time.Second, "host "+name+" to come online", func() error {
		if agent.Exited() {
			t.Fatalf("agent %s exited: %v\n%s", name, agent.waitErr, tail(agent.Stdout()+agent.Stderr(), 8<<10))
		}
		r := runCLI(t, "", env, "host", "get", name, "--output", "json")
		var h api.Host
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &h) != nil {
			return fmt.Errorf("%s", r)
		}
		if h.Status != api.HostOnline {
			return fmt.Errorf("host is %s", h.Status)
		}
		return nil
	})
	return agent
}

// deployTo pushes a small revision (a file to install and a BeforeInstall script that prints a
// line) and deploys it to host, then checks the deployment succeeded with its events and the
// script's output recorded.
func deployTo(t *testing.T, c *cluster, host string) {
	t.Helper()
	env := c.Env(0)
	dir := t.TempDir()
	dest := filepath.Join(t.TempDir(), "installed")
	files := map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: " + dest + "\n" +
			"hooks:\n  BeforeInstall:\n    - location: scripts/hello.sh\n      timeout: 60\n",
		"site/index.html":  "hello\n",
		"scripts/hello.sh": "#!/bin/sh\necho \"hello from $SLIPWAY_HOST_NAME\"\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if r := runCLI(t, "", env, "app", "create", "compat"); r.code != 0 {
		t.Fatalf("app create: %s", r)
	}
	r := runCLI(t, "", env, "revision", "push", "--app", "compat", dir, "--output", "json")
	var rev api.Revision
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rev) != nil || rev.ID == "" {
		t.Fatalf("revision push: %s", r)
	}
	r = runCLI(t, "", env, "deploy", "create", "--app", "compat", "--revision", rev.ID, "--host", host, "--output", "json")
	var d api.Deployment
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &d) != nil || d.ID == "" {
		t.Fatalf("deploy create: %s", r)
	}
	cl := c.Client(0)
	eventually(t, 2*time.Minute, "deployment "+d.ID+" to finish", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := cl.DeploymentGet(ctx, d.ID, nil)
		if err != nil {
			return err
		}
		if got.EndTime == nil {
			return fmt.Errorf("deployment is %s", got.Status)
		}
		d = *got
		return nil
	})
	if d.Status != api.DeploymentSucceeded || len(d.Targets) != 1 || d.Targets[0].Host != host {
		t.Fatalf("deployment %s: %s (%s), targets %+v", d.ID, d.Status, d.Message, d.Targets)
	}
	events := map[string]string{}
	for _, ev := range d.Targets[0].Events {
		if ev.Script == "" {
			events[ev.Name] = ev.Status
		} else if ev.Name == "BeforeInstall" && ev.Status != "succeeded" {
			t.Fatalf("script %s: %+v", ev.Script, ev)
		}
	}
	for _, name := range []string{"DownloadBundle", "BeforeInstall", "Install", "AfterInstall"} {
		if events[name] != "succeeded" {
			t.Fatalf("event %s is %q on %s; events: %+v", name, events[name], host, d.Targets[0].Events)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	logs, err := cl.DeploymentLogs(ctx, d.ID, host, 0)
	if err != nil {
		t.Fatal(err)
	}
	var said bool
	for _, l := range logs.Lines {
		said = said || strings.Contains(l.Text, "hello from "+host)
	}
	if !said {
		t.Fatalf("the script's output was not recorded: %+v", logs.Lines)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "index.html")); err != nil || string(b) != "hello\n" {
		t.Fatalf("the revision's file was not installed: %q %v", b, err)
	}
}
