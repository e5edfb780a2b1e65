package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sync"
)

// Process runs builds as processes of this host: a workspace is a fresh
// directory holding a copy of the source, a session is a shell in its own
// process group, and stopping a session kills the whole group. It runs the
// commands as the user that runs it and refuses a run-as naming another
// user. Processes that leave the group on purpose (setsid) escape it: the
// process executor is for hosts without Docker, not a sandbox.
type Process struct {
	// Root is where workspaces are made; "" is os.TempDir().
	Root string
}

// Name implements Executor.
func (p *Process) Name() string { return "process" }

// Prepare implements Executor: it copies the source into a new directory.
// Regular files keep their permission bits, symbolic links are copied as
// links, other kinds of files (sockets, devices) are left out.
func (p *Process) Prepare(ctx context.Context, req PrepareRequest) (Workspace, error) {
	root, err := os.MkdirTemp(p.Root, "slipway-build-")
	if err != nil {
		return nil, fmt.Errorf("process executor: make the workspace: %w", err)
	}
	ws := &processWorkspace{root: root, src: filepath.Join(root, "src")}
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
}

func (w *processWorkspace) SrcDir() string { return w.src }

func (w *processWorkspace) Export(ctx context.Context) (string, error) { return w.src, ctx.Err() }

// Start implements Workspace: the shell runs in a new process group whose
// id is the shell's pid; its stdout and stderr are one pipe.
func (w *processWorkspace) Start(ctx context.Context, req StartRequest) (Session, error) {
	if len(req.Shell) == 0 {
		return nil, errors.New("process executor: no shell to start")
	}
	if req.User != "" {
		if u, err := user.Current(); err != nil || u.Username != req.User {
			return nil, fmt.Errorf("process executor: run-as %s: the process executor runs commands as the user that runs it and cannot switch users; remove run-as or run the build as %s", req.User, req.User)
		}
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
	cmd.Env = req.Env
	cmd.Stdout, cmd.Stderr = wr, wr
	ownGroup(cmd)
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
