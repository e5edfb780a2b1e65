//go:build windows

package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// killExitCode is the exit code of processes ended on timeout or cancel, as taskkill /F gives.
const killExitCode = 1

// taskkillTimeout bounds the taskkill fallback.
const taskkillTimeout = 30 * time.Second

// procGroup is the process tree a script runs in: a job object holding the script and every
// process it starts, or, when the script could not be put in a job, its pid for taskkill /T.
type procGroup struct {
	proc *os.Process
	job  windows.Handle // 0 without a job
}

// startGroup starts cmd suspended, puts it in a new job object before it runs a single
// instruction (so no child it starts can escape the job), then resumes it. A script that cannot
// be put in a job still runs; killGroup then falls back to taskkill /T.
func (e *Executor) startGroup(cmd *exec.Cmd) (*procGroup, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := uint32(cmd.Process.Pid)
	g := &procGroup{proc: cmd.Process}
	job, err := newJob(pid)
	if err != nil {
		e.log().Warn("could not put the script in a job object; on timeout or cancel its process tree is ended with taskkill /T instead", "pid", pid, "err", err)
	} else {
		g.job = job
	}
	if err := resume(pid); err != nil {
		e.terminate(g)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		g.release()
		return nil, fmt.Errorf("resume the script process: %w", err)
	}
	return g, nil
}

// release closes the job handle. The job has no kill-on-close limit: processes the script left
// running (a daemon started by ApplicationStart) stay alive, and the job goes when they do.
func (g *procGroup) release() {
	if g.job != 0 {
		_ = windows.CloseHandle(g.job)
		g.job = 0
	}
}

// killGroup ends the script's process tree at once: Windows has no SIGTERM that console
// scripts reliably honour (Ctrl+Break makes cmd.exe ask "Terminate batch job?" and PowerShell
// enter its debugger), so Grace is not used. It returns the script's wait error from exited.
func (e *Executor) killGroup(g *procGroup, exited <-chan error) error {
	e.terminate(g)
	return <-exited
}

// terminate ends every process of the job, or the tree under the script with taskkill, then
// the script process itself in case both failed.
func (e *Executor) terminate(g *procGroup) {
	if g.job != 0 {
		err := windows.TerminateJobObject(g.job, killExitCode)
		if err == nil {
			return
		}
		e.log().Warn("could not terminate the script's job object; trying taskkill /T", "pid", g.proc.Pid, "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), taskkillTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, systemProgram("taskkill.exe"), "/T", "/F", "/PID", strconv.Itoa(g.proc.Pid)).CombinedOutput()
	if err != nil {
		e.log().Warn("taskkill of the script's process tree failed", "pid", g.proc.Pid, "err", err, "output", string(out))
	}
	_ = g.proc.Kill()
}

// newJob creates a job object and assigns process pid to it.
func newJob(pid uint32) (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create job object: %w", err)
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		_ = windows.CloseHandle(job)
		return 0, fmt.Errorf("open process %d: %w", pid, err)
	}
	defer func() { _ = windows.CloseHandle(h) }()
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		_ = windows.CloseHandle(job)
		return 0, fmt.Errorf("assign process %d to job object: %w", pid, err)
	}
	return job, nil
}

// resume resumes the threads of process pid, started with CREATE_SUSPENDED (os/exec closes the
// main thread's handle, so the threads are found through a Toolhelp snapshot).
func resume(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("thread snapshot: %w", err)
	}
	defer func() { _ = windows.CloseHandle(snap) }()
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("open thread %d: %w", te.ThreadID, err)
		}
		_, err = windows.ResumeThread(th)
		_ = windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resume thread %d: %w", te.ThreadID, err)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("list threads: %w", err)
	}
	if resumed == 0 {
		return fmt.Errorf("process %d has no thread to resume", pid)
	}
	return nil
}
