//go:build unix

package executor

import (
	"sync"
	"syscall"
	"time"
)

// maxTracked bounds the process groups an Executor remembers for EndLeftovers; past it the
// oldest are forgotten (they are pruned as soon as they are empty anyway).
const maxTracked = 256

// leftovers are the process groups of scripts this executor started, kept so that EndLeftovers
// can end what a finished script left running in its group (a daemon started with `cmd &`).
type leftovers struct {
	mu     sync.Mutex
	groups []int // pgids, oldest first
}

// track remembers g's group and forgets the groups that have emptied since, so a remembered
// pgid is one that still had a member at the last look: the window in which the kernel could
// give an emptied group's number to an unrelated new group is as short as it can be.
func (e *Executor) track(g *procGroup) {
	if !e.KeepGroups {
		return
	}
	e.left.mu.Lock()
	defer e.left.mu.Unlock()
	live := e.left.groups[:0]
	for _, pgid := range e.left.groups {
		if groupAlive(pgid) {
			live = append(live, pgid)
		}
	}
	if len(live) >= maxTracked {
		live = live[1:]
	}
	e.left.groups = append(live, g.pgid)
}

// EndLeftovers ends every process still running in the process group of a script this executor
// started with KeepGroups set: SIGTERM to each such group, then SIGKILL to those not empty after the grace. It is for
// an agent embedded in another process (`slipway dev`), whose simulated host "powers off" when
// the process stops; a service agent never calls it, since the services its hooks start must
// outlive it. A process that left its group (setsid, a service manager) is not reached. It
// returns the number of groups that still had a process.
func (e *Executor) EndLeftovers() int {
	e.left.mu.Lock()
	groups := e.left.groups
	e.left.groups = nil
	e.left.mu.Unlock()
	var alive []int
	for _, pgid := range groups {
		if groupAlive(pgid) {
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			alive = append(alive, pgid)
		}
	}
	deadline := time.Now().Add(e.grace())
	for _, pgid := range alive {
		for groupAlive(pgid) && time.Now().Before(deadline) {
			time.Sleep(groupPoll)
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	return len(alive)
}
