package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Defaults of Executor.
const (
	DefaultGrace = 10 * time.Second
	DefaultDrain = 1 * time.Second
)

// Streams a Line comes from.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Script is one script to run.
type Script struct {
	// Name is how messages name the script (the hook location as written).
	Name string
	// Path is the absolute path of the script file.
	Path string
	// Dir is the working directory.
	Dir string
	// Env is added to the inherited environment ("KEY=value"), usually Env.Vars().
	Env []string
	// Timeout ends the script; zero means none.
	Timeout time.Duration
	// RunAs is the user to run as; "" is the agent's user.
	RunAs string
	// Sudo runs the script through sudo when the agent is not root.
	Sudo bool
}

// Line is one line of a script's output.
type Line struct {
	Time   time.Time
	Stream string // Stdout or Stderr
	Text   string
}

// Result is how a script ended.
type Result struct {
	// Code is one of the agentproto.Result* codes.
	Code string
	// ExitCode is the script's exit status (128+signal when a signal ended it).
	ExitCode int
	// Message explains a result other than a plain success, for people.
	Message string
	// OutputLeftOpen is set when the script exited while a process it started kept its
	// stdout or stderr open.
	OutputLeftOpen bool
	// Duration is how long the script ran.
	Duration time.Duration
}

// OK reports whether the script succeeded.
func (r Result) OK() bool { return r.Code == agentproto.ResultSucceeded }

// Executor runs scripts. The zero value is ready to use; it is safe for concurrent use.
type Executor struct {
	// Grace is the time between SIGTERM and SIGKILL; DefaultGrace when zero. Unused on Windows,
	// where a timed-out or cancelled script's process tree is terminated at once.
	Grace time.Duration
	// Drain is how long output is still read once the script has exited; DefaultDrain when zero.
	Drain time.Duration
	// FailOnOutputLeftOpen turns an exit 0 with output left open into ResultOutputLeftOpen.
	FailOnOutputLeftOpen bool
	// BaseEnv is the environment scripts inherit; the agent's own (filtered) when nil.
	BaseEnv []string
	// Logger receives the executor's own diagnostics; slog.Default when nil.
	Logger *slog.Logger
	// KeepGroups remembers the process group of every script started, for EndLeftovers (an
	// agent embedded in another process). Off, nothing is remembered and EndLeftovers ends
	// nothing: a service agent's hooks' daemons outlive it.
	KeepGroups bool

	left leftovers // the process groups of started scripts, for EndLeftovers
}

func (e *Executor) drain() time.Duration {
	if e.Drain > 0 {
		return e.Drain
	}
	return DefaultDrain
}

func (e *Executor) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}

// Run runs s to its end and returns how it ended. onLine (may be nil) receives every output
// line as it is read, from one goroutine at a time, and is never called after Run returns.
// A cancelled ctx kills the script's process group and gives ResultCancelled.
func (e *Executor) Run(ctx context.Context, s Script, onLine func(Line)) Result {
	start := time.Now()
	res := e.run(ctx, s, onLine)
	res.Duration = time.Since(start)
	return res
}

func (e *Executor) run(ctx context.Context, s Script, onLine func(Line)) Result {
	if res, ok := checkScript(s); !ok {
		return res
	}
	if ctx.Err() != nil {
		return Result{Code: agentproto.ResultCancelled, ExitCode: -1, Message: "cancelled before the script started" + CancelCause(ctx)}
	}
	rOut, wOut, err := os.Pipe()
	if err != nil {
		return unknown("create stdout pipe: %v", err)
	}
	rErr, wErr, err := os.Pipe()
	if err != nil {
		closeAll(rOut, wOut)
		return unknown("create stderr pipe: %v", err)
	}
	cmd, grp, err := e.start(s, wOut, wErr)
	closeAll(wOut, wErr) // the child holds its own copies now
	if err != nil {
		closeAll(rOut, rErr)
		return startFailure(s, err)
	}
	defer grp.release()
	pgid := cmd.Process.Pid

	g := &gate{open: true, fn: onLine}
	readersDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); readLines(rOut, Stdout, g) }()
	go func() { defer wg.Done(); readLines(rErr, Stderr, g) }()
	go func() { wg.Wait(); close(readersDone) }()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var timeout <-chan time.Time
	if s.Timeout > 0 {
		t := time.NewTimer(s.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var why string
	select {
	case err = <-exited:
	case <-timeout:
		why = agentproto.ResultTimedOut
		err = e.killGroup(grp, exited)
	case <-ctx.Done():
		why = agentproto.ResultCancelled
		err = e.killGroup(grp, exited)
	}

	leftOpen := false
	drain := time.NewTimer(e.drain())
	select {
	case <-readersDone:
	case <-drain.C:
		leftOpen = true
		e.log().Warn("script exited but its output is still open; no longer delivering it",
			"script", s.Name, "pgid", pgid)
	}
	drain.Stop()
	g.close() // readers, if still running, now only discard until the holder closes the pipe

	res := e.result(s, why, CancelCause(ctx), err, cmd)
	res.OutputLeftOpen = leftOpen
	if leftOpen {
		const note = "a process started by the script still holds its stdout/stderr open; output after the script exited is not captured (redirect a daemon's output, e.g. `cmd >/var/log/cmd.log 2>&1 &`)"
		switch {
		case res.Code == agentproto.ResultSucceeded && e.FailOnOutputLeftOpen:
			res.Code, res.Message = agentproto.ResultOutputLeftOpen, "script exited 0 but "+note
		case res.Message == "":
			res.Message = "script exited 0; " + note
		default:
			res.Message += "; " + note
		}
	}
	return res
}

// start starts the script in its own process group with the given output files, falling back
// to /bin/sh for a script the kernel will not exec because it has no "#!" line (Unix only:
// Windows never reports ENOEXEC).
func (e *Executor) start(s Script, stdout, stderr *os.File) (*exec.Cmd, *procGroup, error) {
	cmd, err := e.command(s, false)
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	grp, err := e.startGroup(cmd)
	if errors.Is(err, syscall.ENOEXEC) {
		if cmd, err = e.command(s, true); err != nil {
			return nil, nil, err
		}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		grp, err = e.startGroup(cmd)
	}
	if err != nil {
		return nil, nil, err
	}
	e.track(grp)
	return cmd, grp, nil
}

// result is how the script ended: why is the reason Run ended it (timed out, cancelled) or "",
// cause the cancellation's CancelCause.
func (e *Executor) result(s Script, why, cause string, err error, cmd *exec.Cmd) Result {
	limit := ""
	if s.Timeout > 0 {
		limit = " after " + s.Timeout.String()
	}
	switch why {
	case agentproto.ResultTimedOut:
		return Result{Code: why, ExitCode: exitCode(cmd), Message: fmt.Sprintf("script timed out%s; its process group was terminated", limit)}
	case agentproto.ResultCancelled:
		return Result{Code: why, ExitCode: exitCode(cmd), Message: "deployment cancelled" + cause + "; the script's process group was terminated"}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return Result{Code: agentproto.ResultSucceeded}
	case errors.As(err, &ee):
		code := exitCode(cmd)
		msg := fmt.Sprintf("script exited with code %d", code)
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			msg = fmt.Sprintf("script was killed by signal %v", ws.Signal())
		}
		return Result{Code: agentproto.ResultFailed, ExitCode: code, Message: msg}
	default:
		return unknown("wait for script: %v", err)
	}
}

// exitCode is the exit status, or 128+signal for a signalled process, or -1.
func exitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// checkScript classifies a script that cannot start and makes a script without an
// execute bit executable, as CodeDeploy does (not on Windows, which has no execute bit).
func checkScript(s Script) (Result, bool) {
	fi, err := os.Stat(s.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Result{Code: agentproto.ResultScriptMissing, ExitCode: -1, Message: fmt.Sprintf("script %s is not in the bundle (looked for %s)", s.Name, s.Path)}, false
	case err != nil:
		return unknown("inspect script %s: %v", s.Name, err), false
	case fi.IsDir():
		return Result{Code: agentproto.ResultScriptMissing, ExitCode: -1, Message: fmt.Sprintf("script %s is a folder, not a file", s.Name)}, false
	case s.Dir != "" && !isDir(s.Dir):
		return unknown("working directory %s of script %s is not a folder", s.Dir, s.Name), false
	case execBits && fi.Mode().Perm()&0o111 != 0o111:
		if err := os.Chmod(s.Path, fi.Mode()|0o111); err != nil {
			return Result{Code: agentproto.ResultNotExecutable, ExitCode: -1, Message: fmt.Sprintf("script %s is not executable and could not be made executable: %v", s.Name, err)}, false
		}
	}
	return Result{}, true
}

func startFailure(s Script, err error) Result {
	var ue *userError
	if errors.As(err, &ue) {
		return unknown("%v", err)
	}
	if res, ok := startFailureOS(s, err); ok {
		return res
	}
	switch {
	case errors.Is(err, syscall.EACCES):
		return Result{Code: agentproto.ResultNotExecutable, ExitCode: -1, Message: fmt.Sprintf("script %s cannot be executed (permission denied: check the execute bit, the folder permissions for the runas user and noexec mounts): %v", s.Name, err)}
	case errors.Is(err, syscall.ENOENT):
		return Result{Code: agentproto.ResultNotExecutable, ExitCode: -1, Message: fmt.Sprintf("script %s cannot be executed: the interpreter on its #! line%s is not installed: %v", s.Name, interpreter(s.Path), err)}
	case errors.Is(err, syscall.EPERM):
		return unknown("start script %s: %v (runas needs the agent to run as root, or sudo: true)", s.Name, err)
	default:
		return unknown("start script %s: %v", s.Name, err)
	}
}

// CancelCause is " (why)" for a context cancelled with a cause (context.WithCancelCause), and ""
// for one cancelled without (or not cancelled), for messages about a cancelled script.
func CancelCause(ctx context.Context) string {
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return ""
	}
	return " (" + cause.Error() + ")"
}

func unknown(format string, args ...any) Result {
	return Result{Code: agentproto.ResultUnknownError, ExitCode: -1, Message: fmt.Sprintf(format, args...)}
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
