package build

import (
	"context"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

// schedulePause bounds how long the scheduler waits between passes when nothing is applied (a
// host's last-seen time ages without an entry); scheduleGap is the least time between passes,
// so a busy log (agents' reports) does not make it read the queue and the hosts on every entry.
const (
	schedulePause = time.Second
	scheduleGap   = 50 * time.Millisecond
)

// schedule is a leader task (ctx ends when leadership is lost): after each applied entry (a
// start, an end, a host connecting; at most every scheduleGap), and at least every
// schedulePause, it assigns queued builds
// to free hosts (Plan), proposing build.assign for each. It keeps no state: a new leader reads
// the queue and the hosts again, and apply refuses an assignment that no longer holds.
func (m *Module) schedule(ctx context.Context) {
	hostTimeout, _ := m.core.Agents.Timeouts()
	for ctx.Err() == nil {
		idx := m.core.Cluster.AppliedIndex()
		for _, a := range m.plan(time.Now(), hostTimeout) {
			if _, err := command.Propose(ctx, m.core.Cluster, cmdAssign, m.core.Now(), a); err != nil {
				if ctx.Err() == nil {
					m.core.Log.Debug("build not assigned; the scheduler tries again", "build", a.ID, "host", a.Host, "error", err)
				}
				continue
			}
			m.core.Log.Info("build assigned", "build", a.ID, "host", a.Host)
		}
		wctx, cancel := context.WithTimeout(ctx, schedulePause)
		_ = m.core.Cluster.WaitApplied(wctx, idx+1)
		cancel()
		gap := time.NewTimer(scheduleGap)
		select {
		case <-ctx.Done():
		case <-gap.C:
		}
		gap.Stop()
	}
}

// plan reads the queue and the hosts and answers the assignments to propose now.
func (m *Module) plan(now time.Time, hostTimeout time.Duration) []AssignPayload {
	var out []AssignPayload
	_ = m.core.State.View(func(tx *state.Tx) error {
		if k, _ := tx.Bucket(bucketQueue).Cursor().First(); k == nil {
			return nil
		}
		out = Plan(tx, now, hostTimeout)
		return nil
	})
	return out
}

// Plan answers which queued builds to assign to which hosts now. Hosts: connected (Server set),
// heard from within hostTimeout of now, with the "build" capability and no build in progress.
// Builds: in start order, fairly across projects: each round-robin turn takes at most one build
// per project (the oldest of that project that a free host can run and its concurrent build
// limit allows), projects ordered by their oldest queued build, until no host is free or no
// build can be placed. A host takes one build.
func Plan(tx *state.Tx, now time.Time, hostTimeout time.Duration) []AssignPayload {
	var free []state.Host
	hosts, err := tx.ListHosts()
	if err != nil {
		return nil
	}
	for _, h := range hosts {
		if h.Server == "" || now.Sub(h.LastSeen) > hostTimeout || !slices.Contains(h.Capabilities, agentproto.KindBuild) {
			continue
		}
		if len(buildsOnHost(tx, h.ID)) > 0 {
			continue
		}
		free = append(free, h)
	}
	if len(free) == 0 {
		return nil
	}
	// The queue in start order, by project (at most MaxQueued builds).
	var projects []string
	queued := map[string][]Build{}
	c := tx.Bucket(bucketQueue).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		b, ok, err := getBuild(tx, string(v))
		if err != nil || !ok || b.Status != pub.BuildQueued {
			continue
		}
		if _, seen := queued[b.Project]; !seen {
			projects = append(projects, b.Project)
		}
		queued[b.Project] = append(queued[b.Project], b)
	}
	room := map[string]int{} // builds each project may still start (-1: no limit)
	for _, p := range projects {
		room[p] = -1
		pr, ok, err := getProject(tx, p)
		if err != nil || !ok {
			room[p] = 0
			continue
		}
		if pr.ConcurrentBuildLimit > 0 {
			cnt, err := getCounters(tx, p)
			if err != nil {
				room[p] = 0
				continue
			}
			room[p] = max(pr.ConcurrentBuildLimit-cnt.Running, 0)
		}
	}
	var out []AssignPayload
	for placed := true; placed && len(free) > 0; {
		placed = false
		for _, p := range projects {
			if room[p] == 0 || len(free) == 0 {
				continue
			}
			bs := queued[p]
			for i, b := range bs {
				h := slices.IndexFunc(free, func(h state.Host) bool { return CanRun(b, h) == "" })
				if h < 0 {
					continue
				}
				out = append(out, AssignPayload{ID: b.ID, Host: free[h].ID})
				free = slices.Delete(free, h, h+1)
				queued[p] = slices.Delete(bs, i, i+1)
				if room[p] > 0 {
					room[p]--
				}
				placed = true
				break
			}
		}
	}
	return out
}
