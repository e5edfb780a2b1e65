//go:build testbed

// Package testbed is Slipway's fleet test bed: every control-plane server and every agent runs
// in its own Docker container with its own address on private networks that the test bed
// creates and removes itself, and the scenarios inject real faults (SIGKILL, SIGSTOP, network
// cuts) while clients write through the public Go client in pkg/api.
//
// Run it with `make testbed`, which builds bin/ and points SLIPWAY_BIN at it; without SLIPWAY_BIN
// the suite builds static binaries into a temporary folder first. It needs a Docker engine and
// no image registry: the image is imported from a root filesystem the suite assembles (the two
// static binaries, the probe of testbed/probe, a static busybox for hook shells, and the host's
// git with the shared libraries it loads, which the servers' git hosting runs). Without an
// engine the suite skips, unless CI=true, where a missing engine is a failure.
//
// Every bed is the README's TLS cluster: the suite makes a CA and a server certificate per
// server with `slipway tls`, servers speak mutual TLS on the Raft port and HTTPS on the API,
// agents verify them with the CA file, and the test's clients with the CA.
//
// Everything the suite creates carries the label slipway-testbed=<run>: t.Cleanup removes each
// bed's containers and networks even when a scenario fails (printing every container's log
// first), TestMain sweeps what is left of its run, and a later run removes what a killed run
// left behind.
//
// Environment:
//
//	SLIPWAY_BIN       folder holding slipway and slipway-agent (static, CGO_ENABLED=0)
//	TESTBED_BUSYBOX   a static busybox to put in the image (default /bin/busybox, installed
//	                  with apt-get install busybox-static when missing and running as root)
//	TESTBED_GIT       the git binary to put in the image (default: the host's, found as
//	                  `git --exec-path`/git), with the libraries ldd lists for it
//	TESTBED_LOG_DIR   also write every container's log there when a scenario fails
//	TESTBED_SIGQUIT   when a scenario fails, send SIGQUIT to every container first, so that
//	                  the logs end with the Go stack dump of every goroutine
package testbed

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	labelRun   = "slipway-testbed"     // value: the run ID
	labelPID   = "slipway-testbed.pid" // value: the test process's PID, for sweeping dead runs
	labelImage = "slipway-testbed.image"
	imageRepo  = "slipway-testbed"
)

var (
	// runID names this run's containers and networks and labels everything it creates.
	runID string
	// image is the reference of the imported test bed image.
	image string
	// dockerErr is why the Docker engine cannot be used, or nil.
	dockerErr error
	// slipwayBin is the slipway binary on the test's side, which makes each bed's certificates
	// (`slipway tls ca create`, `slipway tls cert create`), as an operator following the README
	// would.
	slipwayBin string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var b [3]byte
	_, _ = rand.Read(b[:])
	runID = hex.EncodeToString(b[:])

	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		dockerErr = fmt.Errorf("docker info: %w: %s", err, strings.TrimSpace(string(out)))
		if inCI() {
			fmt.Fprintln(os.Stderr, "testbed: CI=true but the Docker engine is not usable:", dockerErr)
			return 1
		}
		// Each test skips with the reason.
		return m.Run()
	}
	sweepDeadRuns()

	dir := os.Getenv("SLIPWAY_BIN")
	if dir == "" {
		tmp, err := os.MkdirTemp("", "slipway-testbed-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "testbed:", err)
			return 1
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		fmt.Fprintln(os.Stderr, "testbed: SLIPWAY_BIN is not set; building static binaries into", tmp)
		for _, prog := range []string{"slipway", "slipway-agent"} {
			build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(tmp, prog), "github.com/slipwayhq/slipway/cmd/"+prog)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			if err := build.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "testbed: build "+prog+":", err)
				return 1
			}
		}
		dir = tmp
	}
	slipwayBin = filepath.Join(dir, "slipway")
	probe, cleanup, err := buildProbe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: build the probe:", err)
		return 1
	}
	defer cleanup()
	busybox, err := findBusybox()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
		return 1
	}
	git, err := findGit()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
		return 1
	}
	start := time.Now()
	image, err = buildImage(filepath.Join(dir, "slipway"), filepath.Join(dir, "slipway-agent"), probe, busybox, git)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed: image:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "testbed: run %s, image %s ready in %s\n", runID, image, time.Since(start).Round(time.Millisecond))

	code := m.Run()
	sweepRun(runID)
	printReport(os.Stdout)
	return code
}

func inCI() bool { return os.Getenv("CI") == "true" }

// buildProbe builds testbed/probe (the stranger of TestRaftPortRefusesStrangers), static, into a
// temporary folder that cleanup removes.
func buildProbe() (path string, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "slipway-testbed-probe-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	path = filepath.Join(tmp, "slipway-probe")
	build := exec.Command("go", "build", "-tags", "testbed", "-trimpath", "-o", path, "github.com/slipwayhq/slipway/testbed/probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("%w: %s", err, out)
	}
	return path, cleanup, nil
}

// requireDocker skips the test (or fails it in CI) when the Docker engine is not usable.
func requireDocker(t *testing.T) {
	t.Helper()
	if dockerErr == nil {
		return
	}
	if inCI() {
		t.Fatalf("the test bed needs a Docker engine in CI: %v", dockerErr)
	}
	t.Skipf("no usable Docker engine, skipping the test bed (%v); install Docker or run in CI", dockerErr)
}

// ---------------------------------------------------------------------------------------------
// The image

// findBusybox returns a statically linked busybox, installing Debian's busybox-static when none
// is present and the suite runs as root.
func findBusybox() (string, error) {
	if p := os.Getenv("TESTBED_BUSYBOX"); p != "" {
		return p, checkStatic(p)
	}
	candidates := []string{"/bin/busybox", "/usr/bin/busybox"}
	for _, p := range candidates {
		if checkStatic(p) == nil {
			return p, nil
		}
	}
	if os.Geteuid() != 0 {
		return "", errors.New("no static busybox found: apt-get install busybox-static (or set TESTBED_BUSYBOX)")
	}
	fmt.Fprintln(os.Stderr, "testbed: installing busybox-static for the image's hook shells")
	cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "busybox-static")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get install busybox-static: %w\n%s", err, tailString(string(out), 4<<10))
	}
	for _, p := range candidates {
		if checkStatic(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("busybox-static is installed but no static /bin/busybox was found")
}

// checkStatic fails unless path is a statically linked ELF executable: the image has no libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0 (make build does)", path)
		}
	}
	return nil
}

// gitFiles is the host's git as the image carries it: the one git binary (every builtin, among
// them upload-pack, receive-pack, index-pack and pack-objects, is that binary run as `git NAME`)
// and the shared libraries it loads, each at the path the loader looks for it.
type gitFiles struct {
	binary  string            // host path of git
	execDir string            // git --exec-path, compiled into git: where it finds itself again
	libs    map[string]string // path in the image (ldd's, or the ELF interpreter) -> host file
}

// findGit locates the host's git (TESTBED_GIT, else `git --exec-path`/git) and its libraries
// with ldd. The servers need it: without git they serve no repositories.
func findGit() (*gitFiles, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, errors.New("the image needs git for the git hosting scenarios: apt-get install git (or set TESTBED_GIT)")
	}
	out, err := exec.Command(gitPath, "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	g := &gitFiles{execDir: strings.TrimSpace(string(out)), libs: map[string]string{}}
	g.binary = filepath.Join(g.execDir, "git")
	if p := os.Getenv("TESTBED_GIT"); p != "" {
		g.binary = p
	}
	if !filepath.IsAbs(g.execDir) {
		return nil, fmt.Errorf("git --exec-path is %q, not an absolute path", g.execDir)
	}
	f, err := elf.Open(g.binary)
	if err != nil {
		return nil, fmt.Errorf("git for the image: %w", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err == nil {
				interp := strings.TrimRight(string(b), "\x00")
				g.libs[interp] = interp
			}
		}
	}
	_ = f.Close()
	out, err = exec.Command("ldd", g.binary).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s (to copy git's libraries into the image): %w", g.binary, err)
	}
	// Lines are "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)", "/lib64/ld-linux-x86-64.so.2
	// (0x...)" or the kernel's "linux-vdso.so.1 (0x...)", which has no file.
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && filepath.IsAbs(f[2]):
			g.libs[f[2]] = f[2]
		case len(f) >= 1 && filepath.IsAbs(f[0]):
			g.libs[f[0]] = f[0]
		case len(f) >= 3 && f[1] == "=>":
			return nil, fmt.Errorf("ldd %s: library %s not found", g.binary, f[0])
		}
	}
	return g, nil
}

// buildImage assembles a root filesystem (the binaries, the probe, busybox and its applets as
// symlinks, git and its libraries, a minimal /etc) as a tarball and imports it with `docker
// import`: no Dockerfile, no base image, no registry. The tag is the tarball's hash, so an
// unchanged image is not imported again.
func buildImage(slipway, agent, probe, busybox string, git *gitFiles) (string, error) {
	for _, p := range []string{slipway, agent, probe, busybox} {
		if err := checkStatic(p); err != nil {
			return "", err
		}
	}
	applets, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return "", fmt.Errorf("%s --list: %w", busybox, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
	}
	link := func(name, target string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: mtime})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []func() error{
		func() error { return dir("bin", 0o755) },
		func() error { return dir("etc", 0o755) },
		func() error { return dir("etc/slipway", 0o755) },
		func() error { return dir("data", 0o700) },
		func() error { return dir("root", 0o700) },
		func() error { return dir("tmp", 0o1777) },
		func() error { return dir("run", 0o755) },
		func() error { return dir("var", 0o755) },
		func() error { return dir("var/tmp", 0o1777) },
		func() error { return dir("usr", 0o755) },
		func() error { return link("usr/bin", "../bin") },
		func() error { return link("usr/sbin", "../bin") },
		func() error { return link("sbin", "bin") },
		func() error {
			return file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
		},
		func() error { return file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")) },
		func() error { return file("etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n")) },
	}
	for _, p := range []struct{ name, src string }{{"bin/slipway", slipway}, {"bin/slipway-agent", agent}, {"bin/slipway-probe", probe}, {"bin/busybox", busybox}} {
		steps = append(steps, func() error {
			data, err := os.ReadFile(p.src)
			if err != nil {
				return err
			}
			return file(p.name, 0o755, data)
		})
	}
	steps = append(steps, gitSteps(git, dir, link, file)...)
	for _, a := range strings.Fields(string(applets)) {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		steps = append(steps, func() error { return link("bin/"+a, "busybox") })
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return "", fmt.Errorf("assemble root filesystem: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	ref := imageRepo + ":" + hex.EncodeToString(sum[:6])
	if _, err := docker("image", "inspect", "--format", "{{.Id}}", ref); err == nil {
		return ref, nil
	}
	pruneImages(ref)
	cmd := exec.Command("docker", "import",
		"--change", "LABEL "+labelImage+"=1",
		"--change", "WORKDIR /",
		"--change", "ENV PATH=/bin",
		"-", ref)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker import: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return ref, nil
}

// gitSteps adds git to the root filesystem: the binary in its exec path (where it was built to
// find itself), /bin/git linking to it, and each library at its own path, with every directory
// on the way. /usr/bin is /bin in the image, so a path under it lands in /bin.
func gitSteps(g *gitFiles, dir func(string, int64) error, link func(string, string) error, file func(string, int64, []byte) error) []func() error {
	made := map[string]bool{"bin": true, "etc": true, "usr": true, "var": true, "tmp": true, "run": true, "root": true, "data": true}
	var steps []func() error
	parents := func(p string) {
		var chain []string
		for d := filepath.Dir(p); d != "." && d != "/" && !made[d]; d = filepath.Dir(d) {
			chain = append(chain, d)
			made[d] = true
		}
		for i := len(chain) - 1; i >= 0; i-- {
			d := chain[i]
			steps = append(steps, func() error { return dir(d, 0o755) })
		}
	}
	inImage := func(p string) string {
		p = strings.TrimPrefix(filepath.Clean(p), "/")
		if rest, ok := strings.CutPrefix(p, "usr/bin/"); ok {
			return "bin/" + rest
		}
		return p
	}
	copyFile := func(to, from string, mode int64) {
		parents(to)
		steps = append(steps, func() error {
			data, err := os.ReadFile(from) // follows symlinks: the library itself
			if err != nil {
				return err
			}
			return file(to, mode, data)
		})
	}
	bin := inImage(filepath.Join(g.execDir, "git"))
	copyFile(bin, g.binary, 0o755)
	steps = append(steps, func() error { return link("bin/git", "/"+bin) })
	libs := make([]string, 0, len(g.libs))
	for p := range g.libs {
		libs = append(libs, p)
	}
	sort.Strings(libs)
	for _, p := range libs {
		copyFile(inImage(p), g.libs[p], 0o755)
	}
	return steps
}

// pruneImages removes earlier test bed images (other binaries); one in use stays.
func pruneImages(keep string) {
	out, err := docker("image", "ls", "--filter", "label="+labelImage, "--format", "{{.Repository}}:{{.Tag}}")
	if err != nil {
		return
	}
	for _, ref := range strings.Fields(out) {
		if ref != keep {
			_, _ = docker("image", "rm", ref)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Sweeping

// sweepRun removes every container and network labelled with run.
func sweepRun(run string) {
	if out, err := docker("ps", "-aq", "--filter", "label="+labelRun+"="+run); err == nil && strings.TrimSpace(out) != "" {
		ids := strings.Fields(out)
		for _, id := range ids {
			_, _ = docker("unpause", id) // rm -f of a paused container fails on some engines
		}
		_, _ = docker(append([]string{"rm", "-f", "-v"}, ids...)...)
	}
	if out, err := docker("network", "ls", "-q", "--filter", "label="+labelRun+"="+run); err == nil && strings.TrimSpace(out) != "" {
		_, _ = docker(append([]string{"network", "rm"}, strings.Fields(out)...)...)
	}
}

// sweepDeadRuns removes what earlier runs left behind when they were killed (a test timeout, a
// Ctrl-C): resources whose creating process no longer exists on this host.
func sweepDeadRuns() {
	runs := map[string]bool{}
	for _, kind := range [][]string{{"ps", "-a"}, {"network", "ls"}} {
		args := append(kind, "--filter", "label="+labelRun, "--format",
			`{{.Label "`+labelRun+`"}} {{.Label "`+labelPID+`"}}`)
		out, err := docker(args...)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			pid, err := strconv.Atoi(f[1])
			if err != nil || pid == os.Getpid() {
				continue
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
				runs[f[0]] = true
			}
		}
	}
	for run := range runs {
		fmt.Fprintln(os.Stderr, "testbed: removing containers and networks left by dead run", run)
		sweepRun(run)
	}
}

// ---------------------------------------------------------------------------------------------
// The report

// reportRow is one scenario's line in the table printed at the end of the run.
type reportRow struct {
	Scenario     string
	Faults       string
	Acknowledged int
	Rejected     int // writes refused for a reason that says nothing was stored (git: fetch first)
	Lost         int
	Unknown      int // writes whose outcome the client could not know (errors, timeouts)
	Recover      time.Duration
	Passed       bool
}

var report struct {
	sync.Mutex
	rows []reportRow
}

// addReport records a scenario's outcome for the final table and logs its summary line.
func addReport(t *testing.T, r reportRow) {
	t.Helper()
	r.Passed = !t.Failed()
	t.Logf("summary: scenario %s: faults [%s], acknowledged %d, rejected %d, lost %d (must be 0), outcome unknown %d, time to recover %s",
		r.Scenario, r.Faults, r.Acknowledged, r.Rejected, r.Lost, r.Unknown, r.Recover.Round(time.Millisecond))
	report.Lock()
	report.rows = append(report.rows, r)
	report.Unlock()
}

func printReport(w io.Writer) {
	report.Lock()
	defer report.Unlock()
	if len(report.rows) == 0 {
		return
	}
	rows := append([]reportRow(nil), report.rows...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Scenario < rows[j].Scenario })
	fmt.Fprintln(w, "\ntestbed report:")
	fmt.Fprintf(w, "  %-28s %-44s %6s %8s %5s %8s %10s %s\n", "scenario", "faults", "acked", "rejected", "lost", "unknown", "recover", "result")
	for _, r := range rows {
		res := "ok"
		if !r.Passed {
			res = "FAIL"
		}
		fmt.Fprintf(w, "  %-28s %-44s %6d %8d %5d %8d %10s %s\n", r.Scenario, r.Faults, r.Acknowledged, r.Rejected, r.Lost, r.Unknown,
			r.Recover.Round(time.Millisecond), res)
	}
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "[... earlier output cut ...]\n" + s
}
