//go:build unix

package executor

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// procGroup is the process group a script runs in (SysProcAttr.Setpgid).
type procGroup struct{ pgid int }

// startGroup starts cmd, whose SysProcAttr makes it lead a new process group.
func (e *Executor) startGroup(cmd *exec.Cmd) (*procGroup, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &procGroup{pgid: cmd.Process.Pid}, nil
}

// release frees what the group holds in the agent; nothing on Unix.
func (g *procGroup) release() {}

func (e *Executor) grace() time.Duration {
	if e.Grace > 0 {
		return e.Grace
	}
	return DefaultGrace
}

// groupPoll is how often killGroup looks whether a terminated group is empty.
const groupPoll = 20 * time.Millisecond

// killGroup ends the script's process group: SIGTERM to the group, then SIGKILL to the group
// once the group is empty or the grace has passed. It returns the script's wait error from exited.
func (e *Executor) killGroup(g *procGroup, exited <-chan error) error {
	pgid := g.pgid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.NewTimer(e.grace())
	defer deadline.Stop()

	var waitErr error
	leaderDone := false
	select {
	case waitErr = <-exited:
		leaderDone = true
	case <-deadline.C:
	}
	if leaderDone {
		// The leader is gone; give the rest of the group the remaining grace.
		tick := time.NewTicker(groupPoll)
		defer tick.Stop()
	wait:
		for groupAlive(pgid) {
			select {
			case <-tick.C:
			case <-deadline.C:
				break wait
			}
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if !leaderDone {
		waitErr = <-exited
	}
	return waitErr
}

// groupAlive reports whether process group pgid has a member (zombies included).
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
