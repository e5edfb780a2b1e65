package build

import (
	"context"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// failStatuses are the statuses build.fail ends a build with.
var failStatuses = []string{pub.BuildFault, pub.BuildTimedOut, pub.BuildStopped}

// applyFail ends a build in progress on a host with the leader's status and reason. A build no
// longer in progress on that host is left as it is (its agent reported the end first, or
// another leader failed it); a TIMED_OUT before the build's running deadline (RunningDeadline)
// at the command's time changes nothing either.
func applyFail(tx *state.Tx, index uint64, c *command.Command, p FailPayload) (any, error) {
	if !slices.Contains(failStatuses, p.Status) {
		return nil, fault.New(fault.Invalid, "build.fail status %s is not FAULT, TIMED_OUT or STOPPED", state.Shorten(p.Status))
	}
	reason, _ := clip(p.Reason, maxEventText)
	b, ok, err := getBuild(tx, p.ID)
	if err != nil || !ok || b.Status != pub.BuildInProgress || b.Agent != p.Host {
		return nil, err
	}
	if p.Status == pub.BuildTimedOut && c.Time.Before(b.RunningDeadline()) {
		return nil, nil
	}
	b.end(c.Time, p.Status, p.Status, reason)
	b.ModifyIndex = index
	if err := endRunning(tx, b); err != nil {
		return nil, err
	}
	return b, state.Put(tx, bucketBuilds, b.ID, b)
}

// watchRunning is a leader task (ctx ends when leadership is lost): it ends the builds in
// progress whose agent was not heard from for the host timeout, or whose agent no longer takes
// builds (FAULT), that ran past their
// timeout and its grace (TIMED_OUT), or whose stop the agent did not confirm within the host
// timeout plus TimeoutGrace of this leader noticing it (STOPPED). Silence counts from the later
// of the host's last report and the start of this leadership, so a new leader gives every host
// a full bound. It keeps no state but when it noticed stops: a new leader notices them again.
func (m *Module) watchRunning(ctx context.Context) {
	hostTimeout, _ := m.core.Agents.Timeouts()
	since := time.Now()
	stopSeen := map[string]time.Time{}
	t := time.NewTicker(max(hostTimeout/10, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		due := m.dueRunning(now, since, hostTimeout, stopSeen)
		for _, f := range due {
			if _, err := command.Propose(ctx, m.core.Cluster, cmdFail, m.core.Now(), f); err != nil {
				if ctx.Err() == nil {
					m.core.Log.Warn("could not end a build in progress", "build", f.ID, "status", f.Status, "error", err)
				}
				continue
			}
			delete(stopSeen, f.ID)
			m.core.Log.Warn("build ended by the leader", "build", f.ID, "status", f.Status, "reason", f.Reason)
		}
	}
}

// dueRunning lists the builds in progress to end now (see watchRunning), reading build/by-host:
// at most one build per host.
func (m *Module) dueRunning(now, since time.Time, hostTimeout time.Duration, stopSeen map[string]time.Time) []FailPayload {
	var due []FailPayload
	running := map[string]bool{}
	_ = m.core.State.View(func(tx *state.Tx) error {
		c := tx.Bucket(bucketByHost).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			hostID, id, ok := cutKey(k)
			if !ok {
				continue
			}
			b, ok, err := getBuild(tx, id)
			if err != nil || !ok || b.Status != pub.BuildInProgress {
				continue
			}
			running[id] = true
			h, ok, err := tx.LookupHost(hostID)
			if err != nil {
				continue
			}
			name := hostID
			if ok {
				name = h.Name
			}
			last := since
			if ok && h.LastSeen.After(last) {
				last = h.LastSeen
			}
			switch {
			case !ok:
				due = append(due, FailPayload{ID: id, Host: hostID, Status: pub.BuildFault, Reason: "host " + hostID + " was deleted while it ran the build"})
			case now.Sub(last) > hostTimeout:
				due = append(due, FailPayload{ID: id, Host: hostID, Status: pub.BuildFault, Reason: "agent on host " + name + " was not heard from for " +
					hostTimeout.String() + " (agent stopped, host down or network cut)"})
			case !slices.Contains(h.Capabilities, agentproto.KindBuild):
				due = append(due, FailPayload{ID: id, Host: hostID, Status: pub.BuildFault, Reason: "the agent on host " + name +
					" no longer takes builds (it was restarted without the build capability)"})
			case !now.Before(b.RunningDeadline()):
				due = append(due, FailPayload{ID: id, Host: hostID, Status: pub.BuildTimedOut, Reason: "the build ran past its timeout of " +
					plural(b.TimeoutMinutes, "minute") + " and the agent on host " + name + " did not report its end within " + TimeoutGrace.String() + " more"})
			case b.StopRequested:
				seen, ok := stopSeen[id]
				if !ok {
					stopSeen[id] = now
				} else if now.Sub(seen) > hostTimeout+TimeoutGrace {
					due = append(due, FailPayload{ID: id, Host: hostID, Status: pub.BuildStopped, Reason: "stopped; the agent on host " + name +
						" did not confirm the stop within " + (hostTimeout + TimeoutGrace).String()})
				}
			}
		}
		return nil
	})
	for id := range stopSeen {
		if !running[id] {
			delete(stopSeen, id)
		}
	}
	return due
}

// cutKey splits a build/by-host key into the host ID and the build ID.
func cutKey(k []byte) (hostID, id string, ok bool) {
	for i, c := range k {
		if c == 0 {
			return string(k[:i]), string(k[i+1:]), true
		}
	}
	return "", "", false
}
