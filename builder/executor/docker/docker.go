// Package docker is the Docker executor: each build runs in a container of
// its image, through the engine's API (the official Go client, with API
// version negotiation, so engines from API 1.41 — Docker 20.10 — on work).
//
// One build, as the runner drives it (package executor has the contract):
//
//	Prepare   the image inspected (pulled only when missing and Pull is
//	          set); the source copied into a fresh host directory; a
//	          container created with that directory bind-mounted at SrcDir,
//	          the limits, the network mode and the labels, and started. Its
//	          main process is /bin/sh reading a standard input that nothing
//	          writes: it keeps the container up and runs nothing.
//	Start     an exec in the container, attached: the runner's shell, its
//	          stderr joined to its stdout inside the container (so the two
//	          stay in order, as with the process executor), as the run-as
//	          user, in the directory and with the environment asked for.
//	Stop      an exec as root of kill -KILL -1: every process of the
//	          container but its main one. A workspace runs one session at a
//	          time, so that is exactly the session's processes.
//	Export    the host directory: the bind mount.
//	Close     the container removed (killed first), then the host directory.
//
// Everything this executor creates carries the labels LabelExecutor=docker,
// LabelBuild=<build id> and LabelPID=<this process's pid>, so that
// containers left by a process that died can be found and removed:
//
//	docker rm -f $(docker ps -aq --filter label=slipway.executor=docker)
package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/slipwayhq/slipway/builder/executor"
)

// SrcDir is where the source is mounted in the container, as CodeBuild
// lays it out (CODEBUILD_SRC_DIR).
const SrcDir = "/codebuild/output/src1/src"

// Labels on every container of this executor.
const (
	LabelExecutor = "slipway.executor" // value: "docker"
	LabelBuild    = "slipway.build"    // value: the build ID
	LabelPID      = "slipway.pid"      // value: the pid of the process that made it
)

// Errors a caller can tell apart: the engine cannot be used, or the image
// is not on this host and pulling is off.
var (
	ErrEngineUnreachable = errors.New("the Docker engine is not reachable")
	ErrImageMissing      = errors.New("the image is not on this host")
)

// killTimeout bounds the calls that end things (Stop, Close), which have no
// context of their own.
const killTimeout = 30 * time.Second

// Config is what a Docker executor makes its containers with.
type Config struct {
	// Image is the image of every build; required.
	Image string
	// Pull allows pulling the image when it is not on this host.
	Pull bool
	// Network is the container's network mode: "" (the engine's default,
	// bridge), "none", "host", or a network's name.
	Network string
	// Memory is the memory limit in bytes; 0 is none.
	Memory int64
	// CPUs is the number of CPUs the container may use (1.5 is one and a
	// half); 0 is no limit.
	CPUs float64
	// PidsLimit bounds the number of processes; 0 is no limit.
	PidsLimit int64
	// Privileged runs the container privileged (Docker in Docker).
	Privileged bool
	// Root is the host directory where workspaces are made; "" is
	// os.TempDir(). The engine must see it: it is bind-mounted.
	Root string
	// Labels are added to the containers' labels.
	Labels map[string]string
	// Client talks to the engine; nil makes one from the environment
	// (DOCKER_HOST, DOCKER_CERT_PATH, ...) with API version negotiation.
	Client *client.Client
}

// Validate says what is wrong with the configuration, naming the field.
func (c Config) Validate() error {
	switch {
	case c.Image == "":
		return errors.New("docker executor: no image: name the image builds run in")
	case c.Memory < 0:
		return fmt.Errorf("docker executor: memory %d: give a limit in bytes, or 0 for none", c.Memory)
	case c.CPUs < 0:
		return fmt.Errorf("docker executor: cpus %g: give a positive number of CPUs, or 0 for no limit", c.CPUs)
	case c.PidsLimit < 0:
		return fmt.Errorf("docker executor: pids limit %d: give a positive number, or 0 for no limit", c.PidsLimit)
	}
	return nil
}

// Docker runs builds in containers. Make it with New; it is safe for
// concurrent builds.
type Docker struct {
	cfg       Config
	cli       *client.Client
	ownClient bool
}

// New checks cfg and makes the executor. It does not reach the engine:
// Check does, and Prepare.
func New(cfg Config) (*Docker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Docker{cfg: cfg, cli: cfg.Client}
	if d.cli == nil {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("docker executor: %w", err)
		}
		d.cli, d.ownClient = cli, true
	}
	return d, nil
}

// Available reaches the engine the environment names (DOCKER_HOST, ...) within ctx: nil when it
// answered. The agent asks it once at start to advertise the docker capability.
func Available(ctx context.Context) error {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker executor: %w", err)
	}
	defer func() { _ = cli.Close() }()
	if _, err := cli.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrEngineUnreachable, err)
	}
	return nil
}

// RemoveBuild removes (killing their processes) the containers this executor made for buildID
// that are still there: those of a process that died before it could Close them (the agent's
// Recover after a kill). It returns how many it removed.
func RemoveBuild(ctx context.Context, buildID string) (int, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return 0, fmt.Errorf("docker executor: %w", err)
	}
	defer func() { _ = cli.Close() }()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", LabelExecutor+"=docker"), filters.Arg("label", LabelBuild+"="+buildID))})
	if err != nil {
		return 0, fmt.Errorf("docker executor: list the containers of %s: %w", buildID, err)
	}
	n := 0
	var errs []error
	for _, c := range list {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Close releases the client New made.
func (d *Docker) Close() error {
	if d.ownClient {
		return d.cli.Close()
	}
	return nil
}

// Name implements executor.Executor: the image.
func (d *Docker) Name() string { return d.cfg.Image }

// APIVersion is the API version the client speaks to the engine, once a
// call (Check, Prepare) has negotiated it.
func (d *Docker) APIVersion() string { return d.cli.ClientVersion() }

// Check reaches the engine and makes sure the image is there (pulling it
// when it is missing and Pull is set). Its errors say what to do.
func (d *Docker) Check(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker executor: %w (%w): start the engine or point DOCKER_HOST at it", ErrEngineUnreachable, err)
	}
	return d.ensureImage(ctx)
}

func (d *Docker) ensureImage(ctx context.Context) error {
	_, err := d.cli.ImageInspect(ctx, d.cfg.Image)
	switch {
	case err == nil:
		return nil
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("docker executor: %w (%w): start the engine or point DOCKER_HOST at it", ErrEngineUnreachable, err)
	case !cerrdefs.IsNotFound(err):
		return fmt.Errorf("docker executor: inspect image %s: %w", d.cfg.Image, err)
	case !d.cfg.Pull:
		return fmt.Errorf("docker executor: image %s: %w and pulling is off: build it (docker build -t %s DIR), import a root filesystem (docker import ROOTFS.tar %s) or load one (docker load -i IMAGE.tar), or allow pulling",
			d.cfg.Image, ErrImageMissing, d.cfg.Image, d.cfg.Image)
	}
	rc, err := d.cli.ImagePull(ctx, d.cfg.Image, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("docker executor: pull %s: %w", d.cfg.Image, err)
	}
	defer rc.Close()
	// The pull goes on while its progress is read; errors come in it too.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("docker executor: pull %s: %w", d.cfg.Image, err)
	}
	if _, err := d.cli.ImageInspect(ctx, d.cfg.Image); err != nil {
		return fmt.Errorf("docker executor: pull %s: the image is still missing after the pull: %w", d.cfg.Image, err)
	}
	return nil
}

// Prepare implements executor.Executor. A context cancelled during it
// leaves nothing behind: the calls that create things run to their end,
// and what they made is removed.
func (d *Docker) Prepare(ctx context.Context, req executor.PrepareRequest) (executor.Workspace, error) {
	if err := d.ensureImage(ctx); err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(d.cfg.Root, "slipway-build-")
	if err != nil {
		return nil, fmt.Errorf("docker executor: make the workspace: %w", err)
	}
	w := &workspace{d: d, root: root, src: filepath.Join(root, "src"), name: "slipway-build-" + randomHex(8)}
	// Writable by every user: a run-as user of the image is not this
	// host's user that owns the directory. The source's own files and
	// directories keep their modes.
	err = os.Mkdir(w.src, 0o755)
	if err == nil {
		err = os.Chmod(w.src, 0o777)
	}
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("docker executor: make the workspace: %w", err)
	}
	if req.SourceDir != "" {
		if err := executor.CopyTree(ctx, req.SourceDir, w.src); err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("docker executor: copy the source %s: %w", req.SourceDir, err)
		}
	}
	if err := ctx.Err(); err != nil {
		_ = w.Close()
		return nil, err
	}
	// Created and started with a context that is not cancelled: a create
	// cut short can still make the container, which would then be left.
	kctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	w.created = true
	resp, err := d.cli.ContainerCreate(kctx, d.containerConfig(req.BuildID), d.hostConfig(w.src), nil, nil, w.name)
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("docker executor: create the container: %w", err)
	}
	w.id = resp.ID
	if err := d.cli.ContainerStart(kctx, w.id, container.StartOptions{}); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("docker executor: start the container: %w", err)
	}
	if err := ctx.Err(); err != nil {
		_ = w.Close()
		return nil, err
	}
	return w, nil
}

func (d *Docker) containerConfig(buildID string) *container.Config {
	labels := map[string]string{}
	for k, v := range d.cfg.Labels {
		labels[k] = v
	}
	labels[LabelExecutor] = "docker"
	labels[LabelBuild] = buildID
	labels[LabelPID] = strconv.Itoa(os.Getpid())
	return &container.Config{
		Image: d.cfg.Image,
		// The main process holds the container up and runs nothing: a
		// shell reading a standard input nobody writes to. Every image
		// that can run a build has /bin/sh.
		Entrypoint: []string{"/bin/sh"},
		OpenStdin:  true,
		WorkingDir: SrcDir,
		Labels:     labels,
	}
}

func (d *Docker) hostConfig(src string) *container.HostConfig {
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(d.cfg.Network),
		Privileged:  d.cfg.Privileged,
		Mounts:      []mount.Mount{{Type: mount.TypeBind, Source: src, Target: SrcDir}},
	}
	hc.Memory = d.cfg.Memory
	if d.cfg.Memory > 0 {
		hc.MemorySwap = d.cfg.Memory // no swap beyond the limit
	}
	hc.NanoCPUs = int64(d.cfg.CPUs * 1e9)
	if d.cfg.PidsLimit > 0 {
		limit := d.cfg.PidsLimit
		hc.PidsLimit = &limit
	}
	return hc
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type workspace struct {
	d         *Docker
	root, src string
	name, id  string
	created   bool // a create was attempted: Close removes the container by name

	mu      sync.Mutex
	current *session // the session running, whose processes Stop kills
	all     []*session
}

func (w *workspace) SrcDir() string { return SrcDir }

func (w *workspace) Export(ctx context.Context) (string, error) { return w.src, ctx.Err() }

// Start implements executor.Workspace: an attached exec of the shell, with
// its stderr joined to its stdout inside the container.
func (w *workspace) Start(ctx context.Context, req executor.StartRequest) (executor.Session, error) {
	if len(req.Shell) == 0 {
		return nil, errors.New("docker executor: no shell to start")
	}
	dir := req.Dir
	if dir == "" {
		dir = SrcDir
	}
	cmd := append([]string{"/bin/sh", "-c", `exec "$@" 2>&1`, "slipway-shell"}, req.Shell...)
	created, err := w.d.cli.ContainerExecCreate(ctx, w.id, container.ExecOptions{
		User: req.User, Env: req.Env, WorkingDir: dir, Cmd: cmd,
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("docker executor: start %s: %w", req.Shell[0], err)
	}
	hijack, err := w.d.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker executor: start %s: %w", req.Shell[0], err)
	}
	pr, pw := io.Pipe()
	s := &session{w: w, execID: created.ID, hijack: hijack, stdin: &stdinCloser{conn: hijack.Conn, closeWrite: hijack.CloseWrite}, out: pr, outDone: make(chan struct{})}
	go func() {
		defer close(s.outDone)
		_, err := stdcopy.StdCopy(pw, pw, hijack.Reader)
		hijack.Close()
		_ = pw.CloseWithError(err) // nil: io.EOF
	}()
	w.mu.Lock()
	w.current = s
	w.all = append(w.all, s)
	w.mu.Unlock()
	return s, nil
}

// Close implements executor.Workspace: the container is removed (every
// process in it killed), then the host directory.
func (w *workspace) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	w.mu.Lock()
	sessions := w.all
	w.all, w.current = nil, nil
	w.mu.Unlock()
	var errs []error
	if err := os.RemoveAll(w.root); err != nil && w.id != "" {
		// Files the build made as another user (root in the container)
		// may not be removable from here: remove them from inside.
		w.removeInside(ctx)
	}
	if w.created {
		err := w.d.cli.ContainerRemove(ctx, w.name, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("docker executor: remove container %s: %w", w.name, err))
		}
	}
	for _, s := range sessions {
		_ = s.out.Close() // unblocks a copy nobody reads any more
		s.hijack.Close()
		<-s.outDone
	}
	if err := os.RemoveAll(w.root); err != nil {
		errs = append(errs, fmt.Errorf("docker executor: remove the workspace: %w", err))
	}
	return errors.Join(errs...)
}

// removeInside empties the mounted source directory as root in the
// container.
func (w *workspace) removeInside(ctx context.Context) {
	_, _ = w.run(ctx, []string{"/bin/sh", "-c", `rm -rf "$0"/..?* "$0"/.[!.]* "$0"/*`, SrcDir})
}

// run runs cmd as root in the container and waits for it; the output is
// dropped.
func (w *workspace) run(ctx context.Context, cmd []string) (int, error) {
	created, err := w.d.cli.ContainerExecCreate(ctx, w.id, container.ExecOptions{User: "0", Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, err
	}
	hijack, err := w.d.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, err
	}
	_, _ = io.Copy(io.Discard, hijack.Reader)
	hijack.Close()
	return waitExec(ctx, w.d.cli, created.ID, nil)
}

// waitExec waits for an exec to end and returns its exit code: the engine
// has no call that waits for an exec, so it is asked, more and more rarely
// (wake, when it closes, says the exec has probably ended).
func waitExec(ctx context.Context, cli *client.Client, id string, wake <-chan struct{}) (int, error) {
	delay := 2 * time.Millisecond
	for {
		ins, err := cli.ContainerExecInspect(ctx, id)
		if err != nil {
			return -1, err
		}
		// Right after the attach, an exec may not have started yet: not
		// running, no pid, no exit code. One that could not start has an
		// exit code (126, 127) and no pid.
		if !ins.Running && (ins.Pid != 0 || ins.ExitCode != 0) {
			return ins.ExitCode, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return -1, ctx.Err()
		case <-wake:
			wake = nil
			delay = 2 * time.Millisecond
		case <-t.C:
			delay = min(delay*2, 200*time.Millisecond)
		}
		t.Stop()
	}
}

// stdinCloser is the write side of an attached exec: Close half-closes
// the connection, which the shell reads as the end of its input.
type stdinCloser struct {
	conn       net.Conn
	closeWrite func() error
}

func (s *stdinCloser) Write(p []byte) (int, error) { return s.conn.Write(p) }
func (s *stdinCloser) Close() error                { return s.closeWrite() }

type session struct {
	w       *workspace
	execID  string
	hijack  types.HijackedResponse
	stdin   io.WriteCloser
	out     *io.PipeReader
	outDone chan struct{}

	waitOnce sync.Once
	code     int
	waitErr  error

	stopMu  sync.Mutex
	stopped bool
	stopErr error
}

func (s *session) Stdin() io.WriteCloser { return s.stdin }
func (s *session) Output() io.Reader     { return s.out }

// Wait implements executor.Session.
func (s *session) Wait() (int, error) {
	s.waitOnce.Do(func() {
		code, err := waitExec(context.Background(), s.w.d.cli, s.execID, s.outDone)
		if err != nil && cerrdefs.IsNotFound(err) {
			code, err = -1, nil // the container was removed
		}
		s.stopMu.Lock()
		if s.stopped && code == 128+9 {
			code = -1 // killed by Stop
		}
		s.stopMu.Unlock()
		s.code, s.waitErr = code, err
	})
	return s.code, s.waitErr
}

// Stop implements executor.Session: kill -KILL -1 as root in the
// container, which reaches every process but the container's main one and
// the kill itself. It does nothing once another session has started.
func (s *session) Stop() error {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.stopped {
		return s.stopErr
	}
	s.stopped = true
	s.w.mu.Lock()
	current := s.w.current == s
	s.w.mu.Unlock()
	if !current {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	code, err := s.w.run(ctx, []string{"/bin/sh", "-c", "kill -KILL -1 2>/dev/null; exit 0"})
	switch {
	case err != nil && (cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err)):
		// The container is gone or stopped: so are its processes.
	case err != nil:
		s.stopErr = fmt.Errorf("docker executor: kill the session's processes: %w", err)
	case code != 0:
		s.stopErr = fmt.Errorf("docker executor: kill the session's processes: exit status %d", code)
	}
	return s.stopErr
}
