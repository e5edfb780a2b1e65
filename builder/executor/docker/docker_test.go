package docker

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"

	"github.com/slipwayhq/slipway/builder/executor"
	"github.com/slipwayhq/slipway/internal/dockertest"
)

func newDocker(t testing.TB, cfg Config) *Docker {
	t.Helper()
	if cfg.Image == "" {
		cfg.Image = dockertest.Image(t)
	}
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func prepare(t testing.TB, d *Docker, buildID, src string) *workspace {
	t.Helper()
	ws, err := d.Prepare(context.Background(), executor.PrepareRequest{BuildID: buildID, SourceDir: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws.(*workspace)
}

// containers lists the containers, running or not, labelled with buildID.
func containers(t testing.TB, d *Docker, buildID string) []string {
	t.Helper()
	list, err := d.cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", LabelBuild+"="+buildID))})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

// readUntil reads lines from r until one equals want, and returns what it
// read before.
func readUntil(t *testing.T, r *bufio.Reader, want string) []string {
	t.Helper()
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("output ended (%v) before %q; read %q", err, want, lines)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == want {
			return lines
		}
		lines = append(lines, line)
	}
}

// TestAPIVersionNegotiated checks the client speaks the engine's API
// version when the engine is older than the client (Docker 20.10: 1.41).
func TestAPIVersionNegotiated(t *testing.T) {
	d := newDocker(t, Config{})
	if err := d.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("docker", "version", "--format", "{{.Server.APIVersion}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	server := strings.TrimSpace(string(out))
	got := d.APIVersion()
	if versions.GreaterThan(got, server) {
		t.Fatalf("client API %s is newer than the engine's %s", got, server)
	}
	if versions.LessThan(server, "1.51") && got != server {
		t.Fatalf("client API %s, want the engine's %s", got, server)
	}
	t.Logf("engine API %s, client API %s", server, got)
}

// TestSession runs one shell session in a workspace: the source is there
// at SrcDir, stdin feeds the shell, stdout and stderr come in order in one
// stream, cd and variables carry, the environment and the directory are
// the ones asked for, files written land in the host directory Export
// names, and closing stdin ends the shell with its exit status.
func TestSession(t *testing.T) {
	d := newDocker(t, Config{})
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello from the source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := prepare(t, d, "test:session", src)
	if ws.SrcDir() != SrcDir {
		t.Fatalf("SrcDir = %s", ws.SrcDir())
	}
	s, err := ws.Start(context.Background(), executor.StartRequest{Shell: []string{"/bin/sh"}, Env: []string{"GREETING=hi there"}})
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(s.Output())
	script := `pwd; cat hello.txt; echo "$GREETING"
echo one; echo two >&2; echo three
mkdir out && cd out && X=kept
pwd; echo "x=$X"; echo made > made.txt
echo END
`
	if _, err := io.WriteString(s.Stdin(), script); err != nil {
		t.Fatal(err)
	}
	got := readUntil(t, r, "END")
	want := []string{SrcDir, "hello from the source", "hi there", "one", "two", "three", SrcDir + "/out", "x=kept"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	dir, err := ws.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "out", "made.txt")); err != nil || string(data) != "made\n" {
		t.Fatalf("made.txt on the host: %q, %v", data, err)
	}
	if _, err := io.WriteString(s.Stdin(), "exit 7\n"); err != nil {
		t.Fatal(err)
	}
	_ = s.Stdin().Close()
	if code, err := s.Wait(); err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after the shell ended: %q, %v", rest, err)
	}
}

// TestStopKillsChildren starts a background child in a session, stops the
// session and checks, from a new session, that neither the shell nor the
// child runs any more, and that the output ended.
func TestStopKillsChildren(t *testing.T) {
	d := newDocker(t, Config{})
	ws := prepare(t, d, "test:stop", "")
	s, err := ws.Start(context.Background(), executor.StartRequest{Shell: []string{"/bin/sh"}})
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(s.Output())
	if _, err := io.WriteString(s.Stdin(), "sleep 300 & echo $! > child.pid; echo $$ > shell.pid; echo started\n"); err != nil {
		t.Fatal(err)
	}
	readUntil(t, r, "started")
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil { // idempotent
		t.Fatal(err)
	}
	if code, err := s.Wait(); err != nil || code != -1 {
		t.Fatalf("Wait after Stop = %d, %v; want -1", code, err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("output after Stop: %v", err)
	}
	// A process killed is gone or a zombie (the container's main process
	// does not reap).
	check, err := ws.Start(context.Background(), executor.StartRequest{Shell: []string{"/bin/sh"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(check.Stdin(), `for f in child.pid shell.pid; do
  p=$(cat $f); s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)
  echo "$f ${s:-gone}"
done
`)
	_ = check.Stdin().Close()
	out, _ := io.ReadAll(check.Output())
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) != 2 || (f[1] != "gone" && f[1] != "Z") {
			t.Errorf("after Stop: %q (want gone or Z)", line)
		}
	}
	if code, err := check.Wait(); err != nil || code != 0 {
		t.Fatalf("check session: %d, %v; output %s", code, err, out)
	}
}

// TestCloseRemoves checks Close removes the container, running sessions
// and all, and the host directory, and that a second Close is harmless.
func TestCloseRemoves(t *testing.T) {
	d := newDocker(t, Config{})
	ws := prepare(t, d, "test:close", "")
	s, err := ws.Start(context.Background(), executor.StartRequest{Shell: []string{"/bin/sh"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(s.Stdin(), "sleep 300 & echo owned-by-root > root.txt; chmod 000 root.txt\n")
	if ids := containers(t, d, "test:close"); len(ids) != 1 {
		t.Fatalf("containers before Close: %v", ids)
	}
	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}
	if ids := containers(t, d, "test:close"); len(ids) != 0 {
		t.Fatalf("containers after Close: %v", ids)
	}
	if _, err := d.cli.ContainerInspect(context.Background(), ws.name); !cerrdefs.IsNotFound(err) {
		t.Fatalf("inspect after Close: %v", err)
	}
	if _, err := os.Stat(ws.root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("workspace directory after Close: %v", err)
	}
	if code, _ := s.Wait(); code != -1 && code != 137 {
		t.Fatalf("the session's shell after Close: exit %d", code)
	}
	if err := ws.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestCancelledPrepare cancels Prepare at different moments: either it
// succeeded, or it failed and left no container.
func TestCancelledPrepare(t *testing.T) {
	d := newDocker(t, Config{})
	for _, delay := range []time.Duration{0, time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond} {
		id := "test:cancel-" + delay.String()
		ctx, cancel := context.WithTimeout(context.Background(), delay)
		ws, err := d.Prepare(ctx, executor.PrepareRequest{BuildID: id})
		cancel()
		if err == nil {
			if err := ws.Close(); err != nil {
				t.Fatal(err)
			}
		} else if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("after %s: %v", delay, err)
		}
		if ids := containers(t, d, id); len(ids) != 0 {
			t.Fatalf("cancelled after %s (err %v): containers left %v", delay, err, ids)
		}
	}
}

// TestLimits checks the network mode, the limits and the labels reach
// the container, and that the limits hold inside it.
func TestLimits(t *testing.T) {
	d := newDocker(t, Config{Network: "none", Memory: 64 << 20, CPUs: 0.5, PidsLimit: 40,
		Labels: map[string]string{"team": "web"}})
	ws := prepare(t, d, "test:limits", "")
	c, err := d.cli.ContainerInspect(context.Background(), ws.id)
	if err != nil {
		t.Fatal(err)
	}
	hc := c.HostConfig
	if hc.NetworkMode != "none" || hc.Memory != 64<<20 || hc.MemorySwap != 64<<20 || hc.NanoCPUs != 5e8 ||
		hc.PidsLimit == nil || *hc.PidsLimit != 40 || hc.Privileged {
		t.Fatalf("host config: network %s memory %d swap %d nanocpus %d pids %v privileged %v",
			hc.NetworkMode, hc.Memory, hc.MemorySwap, hc.NanoCPUs, hc.PidsLimit, hc.Privileged)
	}
	l := c.Config.Labels
	if l[LabelExecutor] != "docker" || l[LabelBuild] != "test:limits" || l[LabelPID] == "" || l["team"] != "web" {
		t.Fatalf("labels: %v", l)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Destination != SrcDir || c.Mounts[0].Source != ws.src {
		t.Fatalf("mounts: %+v", c.Mounts)
	}
	// The limits are the container's cgroup's (v2, else v1).
	s, err := ws.Start(context.Background(), executor.StartRequest{Shell: []string{"/bin/sh"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(s.Stdin(), `cd /sys/fs/cgroup
cat pids.max 2>/dev/null || cat pids/pids.max
cat memory.max 2>/dev/null || cat memory/memory.limit_in_bytes
ls /sys/class/net
`)
	_ = s.Stdin().Close()
	out, _ := io.ReadAll(s.Output())
	if code, err := s.Wait(); err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != "40 67108864 lo" {
		t.Errorf("inside: pids, memory, interfaces = %q, want 40 67108864 lo", got)
	}
}

// TestPrivileged checks the privileged flag reaches the container. An
// engine that itself runs in a container without every capability cannot
// start privileged containers: the test then checks the configuration
// only.
func TestPrivileged(t *testing.T) {
	d := newDocker(t, Config{Privileged: true})
	if hc := d.hostConfig(t.TempDir()); !hc.Privileged {
		t.Fatal("the host config is not privileged")
	}
	ws, err := d.Prepare(context.Background(), executor.PrepareRequest{BuildID: "test:privileged"})
	if err != nil {
		if strings.Contains(err.Error(), "operation not permitted") {
			if ids := containers(t, d, "test:privileged"); len(ids) != 0 {
				t.Fatalf("a container that did not start was left: %v", ids)
			}
			t.Skipf("this engine cannot start privileged containers: %v", err)
		}
		t.Fatal(err)
	}
	defer ws.Close()
	c, err := d.cli.ContainerInspect(context.Background(), ws.(*workspace).id)
	if err != nil || !c.HostConfig.Privileged {
		t.Fatalf("inspect: privileged %v, %v", c.HostConfig != nil && c.HostConfig.Privileged, err)
	}
}

// TestRunAs checks the session runs as the user asked for.
func TestRunAs(t *testing.T) {
	d := newDocker(t, Config{})
	ws := prepare(t, d, "test:runas", "")
	for user, want := range map[string]string{"": "0", "builder": "1000", "65534": "65534"} {
		s, err := ws.Start(context.Background(), executor.StartRequest{Shell: []string{"/bin/sh"}, User: user})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(s.Stdin(), "id -u\n")
		_ = s.Stdin().Close()
		out, _ := io.ReadAll(s.Output())
		if code, err := s.Wait(); err != nil || code != 0 || strings.TrimSpace(string(out)) != want {
			t.Errorf("run as %q: id -u = %q (exit %d, %v), want %s", user, out, code, err, want)
		}
		_ = s.Stop()
	}
	// A user the image does not have: the shell does not start, the
	// engine's reason is in the output, the exit status is 126.
	s, err := ws.Start(context.Background(), executor.StartRequest{Shell: []string{"/bin/sh"}, User: "nosuchuser"})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Stdin().Close()
	out, _ := io.ReadAll(s.Output())
	if code, err := s.Wait(); err != nil || code != 126 || !strings.Contains(string(out), "nosuchuser") {
		t.Errorf("run as an unknown user: exit %d, %v, output %q", code, err, out)
	}
}

// TestErrors checks the errors that say what to do: an image that is not
// on this host, an engine that cannot be reached, a bad configuration.
func TestErrors(t *testing.T) {
	dockertest.Require(t)
	d := newDocker(t, Config{Image: "slipway-test-build:not-there"})
	err := d.Check(context.Background())
	if !errors.Is(err, ErrImageMissing) || !strings.Contains(err.Error(), "docker import") {
		t.Fatalf("missing image: %v", err)
	}
	if _, err := d.Prepare(context.Background(), executor.PrepareRequest{BuildID: "test:missing"}); !errors.Is(err, ErrImageMissing) {
		t.Fatalf("Prepare with a missing image: %v", err)
	}
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+filepath.Join(t.TempDir(), "no.sock")), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	far := newDocker(t, Config{Image: "any", Client: cli})
	if err := far.Check(context.Background()); !errors.Is(err, ErrEngineUnreachable) || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Fatalf("unreachable engine: %v", err)
	}
	for _, cfg := range []Config{{}, {Image: "x", Memory: -1}, {Image: "x", CPUs: -1}, {Image: "x", PidsLimit: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
