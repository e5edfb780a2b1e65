package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Process runs builds as processes of this host: a workspace is a fresh
// directory holding a copy of the source, a session is a shell in its own
// process group, and stopping a session kills the whole group. It runs the
// commands as the user that runs it; a run-as naming another user needs it
// to run as root on Linux (elsewhere, or not root, it is refused). A
// session of a run-as user runs with that user's uid, gid and groups, and
// its HOME, USER and LOGNAME; it is given the source directory first
// (chowned, below). Processes that leave the group on purpose (setsid)
// escape it: the process executor is for hosts without Docker, not a
// sandbox.
//
// The source directory belongs to the user whose session last started:
// when a session starts as a run-as user and the tree is not that user's
// yet (the first session, or a session of another user ran since), the
// whole tree, files the earlier sessions wrote included, is chowned to it
// (links themselves, never their targets). A session of the executor's
// own user (root) changes nothing: root reads and writes every file.
type Process struct {
	// Root is where workspaces are made; "" is os.TempDir().
	Root string
}

// Name implements Executor.
func (p *Process) Name() string { return "process" }

// CheckUser says whether a session can run as the run-as user name: "" and
// the executor's own user always can; another user needs root on Linux, a
// user this host knows, and a workspace root (Root) it can reach. The
// builder calls it for every run-as of a buildspec before any command runs.
func (p *Process) CheckUser(name string) error {
	a, err := lookupRunAs(name)
	if err != nil || a == nil {
		return err
	}
	root := p.Root
	if root == "" {
		root = os.TempDir()
	}
	return a.reachable(root)
}

// Prepare implements Executor: it copies the source into a new directory.
// Regular files keep their permission bits, symbolic links are copied as
// links, other kinds of files (sockets, devices) are left out.
func (p *Process) Prepare(ctx context.Context, req PrepareRequest) (Workspace, error) {
	root, err := os.MkdirTemp(p.Root, "slipway-build-")
	if err != nil {
		return nil, fmt.Errorf("process executor: make the workspace: %w", err)
	}
	ws := &processWorkspace{root: root, src: filepath.Join(root, "src"), owner: -1}
	if err := os.Mkdir(ws.src, 0o755); err != nil {
		_ = ws.Close()
		return nil, fmt.Errorf("process executor: make the workspace: %w", err)
	}
	if req.SourceDir != "" {
		if err := copyTree(ctx, req.SourceDir, ws.src); err != nil {
			_ = ws.Close()
			return nil, fmt.Errorf("process executor: copy the source %s: %w", req.SourceDir, err)
		}
	}
	return ws, nil
}

// copyTree copies the tree at from into the existing directory to.
func copyTree(ctx context.Context, from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil || rel == "." {
			return err
		}
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			return os.Mkdir(dst, mode.Perm()|0o700)
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case mode.IsRegular():
			return copyFile(path, dst, mode.Perm())
		}
		return nil
	})
}

func copyFile(from, to string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

type processWorkspace struct {
	root, src string

	mu       sync.Mutex
	sessions []*processSession
	// owner is the uid of the run-as user the source tree was last given
	// to; -1 when a session of the executor's own user may have written
	// in it since (or none ran).
	owner int64
}

func (w *processWorkspace) SrcDir() string { return w.src }

func (w *processWorkspace) Export(ctx context.Context) (string, error) { return w.src, ctx.Err() }

// Start implements Workspace: the shell runs in a new process group whose
// id is the shell's pid; its stdout and stderr are one pipe.
func (w *processWorkspace) Start(ctx context.Context, req StartRequest) (Session, error) {
	if len(req.Shell) == 0 {
		return nil, errors.New("process executor: no shell to start")
	}
	acct, err := lookupRunAs(req.User)
	if err != nil {
		return nil, err
	}
	env := req.Env
	if acct != nil {
		if err := w.giveTo(acct); err != nil {
			return nil, err
		}
		env = acct.environ(env)
	} else {
		w.mu.Lock()
		w.owner = -1
		w.mu.Unlock()
	}
	dir := req.Dir
	if dir == "" {
		dir = w.src
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("process executor: %w", err)
	}
	cmd := exec.Command(req.Shell[0], req.Shell[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = wr, wr
	ownGroup(cmd)
	if acct != nil {
		acct.switchUser(cmd)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		_ = r.Close()
		_ = wr.Close()
		return nil, fmt.Errorf("process executor: %w", err)
	}
	if err := ctx.Err(); err != nil {
		_ = r.Close()
		_ = wr.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		_ = r.Close()
		_ = wr.Close()
		return nil, fmt.Errorf("process executor: start %s: %w", req.Shell[0], err)
	}
	_ = wr.Close() // the shell and its children hold the write end now
	s := &processSession{cmd: cmd, stdin: stdin, out: r, pgid: cmd.Process.Pid}
	w.mu.Lock()
	w.sessions = append(w.sessions, s)
	w.mu.Unlock()
	return s, nil
}

// giveTo makes the workspace usable by a run-as user: the workspace's own
// directory searchable (0711: others may not list it), every directory
// above it searchable by the user (checked), and the source tree the
// user's, unless it already is since the last session of another user.
func (w *processWorkspace) giveTo(a *account) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.owner == int64(a.uid) {
		return nil
	}
	if err := os.Chmod(w.root, 0o711); err != nil {
		return fmt.Errorf("process executor: run-as %s: %w", a.name, err)
	}
	if err := a.reachable(w.root); err != nil {
		return err
	}
	if err := a.chownTree(w.src); err != nil {
		return fmt.Errorf("process executor: run-as %s: give it the source directory: %w", a.name, err)
	}
	w.owner = int64(a.uid)
	return nil
}

// Close implements Workspace.
func (w *processWorkspace) Close() error {
	w.mu.Lock()
	sessions := w.sessions
	w.sessions = nil
	w.mu.Unlock()
	for _, s := range sessions {
		_ = s.Stop()
		_ = s.out.Close()
	}
	if err := os.RemoveAll(w.root); err != nil {
		// A build may leave directories without write permission.
		_ = filepath.WalkDir(w.root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(path, 0o700)
			}
			return nil
		})
		return os.RemoveAll(w.root)
	}
	return nil
}

type processSession struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *os.File
	pgid  int

	stopOnce sync.Once
	stopErr  error
}

func (s *processSession) Stdin() io.WriteCloser { return s.stdin }
func (s *processSession) Output() io.Reader     { return s.out }

func (s *processSession) Wait() (int, error) {
	err := s.cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	}
	return -1, err
}

// Stop kills the session's process group: the shell and every process it
// started that did not leave the group.
func (s *processSession) Stop() error {
	s.stopOnce.Do(func() {
		if err := killGroup(s.pgid); err != nil {
			s.stopErr = fmt.Errorf("process executor: kill process group %d: %w", s.pgid, err)
		}
	})
	return s.stopErr
}

// CopyTree copies the tree at from into the existing directory to, as
// Process.Prepare does (for executors whose workspace is a host directory
// too, such as Docker's bind mount).
func CopyTree(ctx context.Context, from, to string) error { return copyTree(ctx, from, to) }
