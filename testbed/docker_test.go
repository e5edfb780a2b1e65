//go:build testbed

package testbed

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// dockerTimeout bounds one docker CLI call; a hung engine fails the test instead of hanging it.
const dockerTimeout = 2 * time.Minute

// docker runs the docker CLI and returns its stdout; the error carries stderr.
func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// mustDocker is docker that fails the test on an error.
func mustDocker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := docker(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func labels() []string {
	return []string{"--label", labelRun + "=" + runID, "--label", fmt.Sprintf("%s=%d", labelPID, os.Getpid())}
}

// ---------------------------------------------------------------------------------------------
// Networks

// network is a user-defined bridge network of one bed, with a subnet the bed chose so that each
// container keeps a fixed address across restarts and reconnects.
type network struct {
	name   string
	subnet *net.IPNet
	next   net.IP // next address to hand out
}

// createNetwork creates a bridge network named name. Docker picks a free subnet from its own
// pools first; the network is then created again with that subnet given explicitly, which
// `docker run --ip` requires. The network is removed in t.Cleanup, after the containers.
func createNetwork(t testing.TB, name string) *network {
	t.Helper()
	probe := name + "-probe"
	mustDocker(t, append(append([]string{"network", "create", "--driver", "bridge"}, labels()...), probe)...)
	out, err := docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", probe)
	_, _ = docker("network", "rm", probe)
	if err != nil {
		t.Fatal(err)
	}
	var subnet *net.IPNet
	for _, s := range strings.Fields(out) {
		if _, n, err := net.ParseCIDR(s); err == nil && n.IP.To4() != nil {
			subnet = n
			break
		}
	}
	if subnet == nil {
		t.Fatalf("network %s: docker gave no IPv4 subnet (%q)", probe, out)
	}
	gw := addIP(subnet.IP, 1)
	mustDocker(t, append(append([]string{"network", "create", "--driver", "bridge",
		"--subnet", subnet.String(), "--gateway", gw.String()}, labels()...), name)...)
	t.Cleanup(func() {
		if _, err := docker("network", "rm", name); err != nil {
			t.Errorf("remove network: %v", err)
		}
	})
	return &network{name: name, subnet: subnet, next: addIP(subnet.IP, 10)}
}

// allocate returns the next free address of the network.
func (n *network) allocate(t testing.TB) string {
	t.Helper()
	ip := n.next
	if !n.subnet.Contains(ip) {
		t.Fatalf("network %s: subnet %s is full", n.name, n.subnet)
	}
	n.next = addIP(ip, 1)
	return ip.String()
}

func addIP(ip net.IP, k int) net.IP {
	v := ip.To4()
	out := make(net.IP, 4)
	n := uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	n += uint32(k)
	out[0], out[1], out[2], out[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return out
}

// ---------------------------------------------------------------------------------------------
// Containers

// container is one host of the bed: a container with a fixed address on each of its networks.
type container struct {
	t    testing.TB
	name string            // container name, unique to the run
	role string            // short name used in messages, e.g. s0, a1
	ips  map[string]string // network name -> address

	mu     sync.Mutex
	paused bool
	cut    map[string]bool // networks it is disconnected from
	fills  int             // filler files written by FillDisk
}

// containerSpec describes a container to create.
type containerSpec struct {
	Prefix   string // names the bed; the container is <Prefix>-<Role>
	Role     string
	IPs      map[string]string // fixed addresses by network name; others are allocated
	Networks []*network        // the first is given at create, the others connected before start
	Files    map[string][]byte
	Cmd      []string
	// Tmpfs mounts a tmpfs per entry, given as docker create's --tmpfs takes it
	// ("/data:rw,size=48m,mode=0700"). Its content is lost when the container stops.
	Tmpfs []string
}

// startContainer creates a container from the bed image, copies spec.Files into it, connects
// it to its networks with fixed addresses and starts it. t.Cleanup prints its log when the test
// failed and removes it.
func startContainer(t testing.TB, spec containerSpec) *container {
	t.Helper()
	c := &container{t: t, name: spec.Prefix + "-" + spec.Role, role: spec.Role, ips: map[string]string{}, cut: map[string]bool{}}
	for _, n := range spec.Networks {
		if ip, ok := spec.IPs[n.name]; ok {
			c.ips[n.name] = ip
		} else {
			c.ips[n.name] = n.allocate(t)
		}
	}
	first := spec.Networks[0]
	args := []string{"create", "--name", c.name, "--hostname", spec.Role,
		"--network", first.name, "--ip", c.ips[first.name],
		"--init=false", "--stop-timeout", "5"}
	for _, m := range spec.Tmpfs {
		args = append(args, "--tmpfs", m)
	}
	args = append(args, labels()...)
	args = append(args, image)
	args = append(args, spec.Cmd...)
	mustDocker(t, args...)
	t.Cleanup(func() { c.remove() })
	for _, n := range spec.Networks[1:] {
		mustDocker(t, "network", "connect", "--ip", c.ips[n.name], n.name, c.name)
	}
	if len(spec.Files) > 0 {
		dir := t.TempDir()
		for path, data := range spec.Files {
			local := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "_"))
			if err := os.WriteFile(local, data, 0o600); err != nil {
				t.Fatal(err)
			}
			mustDocker(t, "cp", local, c.name+":"+path)
		}
	}
	mustDocker(t, "start", c.name)
	return c
}

// remove saves the container's log when the test failed, then removes the container.
func (c *container) remove() {
	if c.t.Failed() {
		if os.Getenv("TESTBED_SIGQUIT") != "" && c.Running() {
			// A Go program prints every goroutine's stack on SIGQUIT: see where a node hangs.
			_, _ = docker("unpause", c.name) // fails harmlessly unless paused
			_, _ = docker("kill", "-s", "QUIT", c.name)
			_, _ = docker("wait", c.name)
		}
		c.dumpLogs()
	}
	c.mu.Lock()
	paused := c.paused
	c.mu.Unlock()
	if paused {
		_, _ = docker("unpause", c.name)
	}
	if _, err := docker("rm", "-f", "-v", c.name); err != nil {
		c.t.Errorf("remove %s: %v", c.role, err)
	}
}

// Logs returns what the container has written to stdout and stderr, across restarts.
func (c *container) Logs() string {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "logs", "--timestamps", c.name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("<docker logs: %v>\n%s", err, out)
	}
	return string(out)
}

func (c *container) dumpLogs() {
	logs := c.Logs()
	state, _ := docker("inspect", "--format", "{{.State.Status}} (exit {{.State.ExitCode}}, OOM {{.State.OOMKilled}})", c.name)
	c.t.Logf("==== %s (%s, %s): %s\n%s", c.role, c.name, strings.TrimSpace(state), c.addrs(), tailString(logs, 96<<10))
	if dir := os.Getenv("TESTBED_LOG_DIR"); dir != "" {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(c.t.Name()) + "-" + c.role + ".log"
		if err := os.MkdirAll(dir, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(dir, name), []byte(logs), 0o644)
		}
	}
}

func (c *container) addrs() string {
	var parts []string
	for n, ip := range c.ips {
		parts = append(parts, n+"="+ip)
	}
	return strings.Join(parts, " ")
}

// Running reports whether the container's process runs (a paused container counts as running).
func (c *container) Running() bool {
	out, err := docker("inspect", "--format", "{{.State.Running}}", c.name)
	return err == nil && strings.TrimSpace(out) == "true"
}

// Exec runs a command in the container and returns its combined output.
func (c *container) Exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", append([]string{"exec", c.name}, args...)...).CombinedOutput()
	return string(out), err
}

// ---------------------------------------------------------------------------------------------
// Faults

// Kill sends SIGKILL to the container's process (a crash, the OOM killer, a power cut for the
// process) and waits until Docker reports it stopped. Its disk (the container's writable layer)
// is kept for Restart.
func (c *container) Kill() {
	c.t.Helper()
	mustDocker(c.t, "kill", "-s", "KILL", c.name)
	mustDocker(c.t, "wait", c.name)
}

// Restart starts a stopped container again on the same disk and addresses.
func (c *container) Restart() {
	c.t.Helper()
	mustDocker(c.t, "start", c.name)
}

// Pause freezes every process of the container (the cgroup freezer, as SIGSTOP would): its
// sockets stay open and silent.
func (c *container) Pause() {
	c.t.Helper()
	mustDocker(c.t, "pause", c.name)
	c.mu.Lock()
	c.paused = true
	c.mu.Unlock()
}

// Unpause resumes a paused container.
func (c *container) Unpause() {
	c.t.Helper()
	mustDocker(c.t, "unpause", c.name)
	c.mu.Lock()
	c.paused = false
	c.mu.Unlock()
}

// Disconnect cuts the container off network n: its interface there is removed, so peers on n
// can no longer reach it and it cannot reach them (Docker isolates bridge networks from each
// other, so another network the container is on is no way around the cut).
func (c *container) Disconnect(n *network) {
	c.t.Helper()
	mustDocker(c.t, "network", "disconnect", "--force", n.name, c.name)
	c.mu.Lock()
	c.cut[n.name] = true
	c.mu.Unlock()
}

// Connect heals a Disconnect, with the container's old address on n.
func (c *container) Connect(n *network) {
	c.t.Helper()
	mustDocker(c.t, "network", "connect", "--ip", c.ips[n.name], n.name, c.name)
	c.mu.Lock()
	delete(c.cut, n.name)
	c.mu.Unlock()
}

// CanDial reports whether the container can open a TCP connection to addr (host:port) within
// a second, using busybox nc from inside the container. It verifies a network cut.
func (c *container) CanDial(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.t.Fatal(err)
	}
	_, err = c.Exec("nc", "-z", "-w", "1", host, port)
	return err == nil
}

// ---------------------------------------------------------------------------------------------
// A full disk (on a container whose /data is a tmpfs: bedOptions.DataDisk)

// fillPrefix names the filler files FillDisk writes on /data, next to the server's data dir.
const fillPrefix = "/data/testbed-fill-"

// FillDisk writes a new filler file of n bytes of zeros on /data (n < 0: until the file system
// is full) and returns its size. A tmpfs allocates every page written, so the space is taken at
// once; the processes of the container meet ENOSPC once nothing is left.
func (c *container) FillDisk(n int64) int64 {
	c.t.Helper()
	c.mu.Lock()
	c.fills++
	name := fmt.Sprintf("%s%d", fillPrefix, c.fills)
	c.mu.Unlock()
	cmd := "dd if=/dev/zero of=" + name + " bs=65536"
	if n >= 0 {
		cmd = fmt.Sprintf("head -c %d /dev/zero > %s", n, name)
	}
	out, err := c.Exec("sh", "-c", cmd)
	if err != nil && (n >= 0 || !strings.Contains(out, "No space left")) {
		c.t.Fatalf("%s: fill disk: %v: %s", c.role, err, out)
	}
	size, err := c.Exec("stat", "-c", "%s", name)
	if err != nil {
		c.t.Fatalf("%s: stat %s: %v: %s", c.role, name, err, size)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(size), 10, 64)
	if err != nil {
		c.t.Fatalf("%s: stat %s: %q", c.role, name, size)
	}
	return v
}

// FreeDisk removes every file FillDisk wrote.
func (c *container) FreeDisk() {
	c.t.Helper()
	if out, err := c.Exec("sh", "-c", "rm -f "+fillPrefix+"*"); err != nil {
		c.t.Fatalf("%s: free disk: %v: %s", c.role, err, out)
	}
}

// DiskFree returns the bytes available on the file system holding /data, read with df.
func (c *container) DiskFree() int64 {
	c.t.Helper()
	out, err := c.Exec("df", "-P", "-k", "/data")
	if err != nil {
		c.t.Fatalf("%s: df: %v: %s", c.role, err, out)
	}
	// Filesystem 1024-blocks Used Available Capacity Mounted on
	lines := strings.Split(strings.TrimSpace(out), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 6 {
		c.t.Fatalf("%s: df: unexpected output %q", c.role, out)
	}
	kb, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		c.t.Fatalf("%s: df: unexpected output %q", c.role, out)
	}
	return kb << 10
}
