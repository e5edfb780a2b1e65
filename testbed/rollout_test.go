//go:build testbed

package testbed

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// rolloutAgents is the server configuration of the rollout scenarios: agents heartbeat every 2 s,
// so one whose server died silently notices within 3 heartbeats + 5 s and moves to another
// server; the host timeout keeps its default of 60 s, well beyond what reconnecting takes.
var rolloutAgents = agentsConfig(2*time.Second, 60*time.Second)

// TestRolloutSurvivesLeaderKill: a HalfAtATime rollout to six agent hosts (at most three out of
// service at once), whose hooks take 1.5 s each, is in flight (hosts running their hooks, others
// not started) when the leader's container is killed with SIGKILL, while writers create apps
// through all three servers. Agents open their sessions with a random server, so those on the
// leader lose theirs too and must find another one. The rollout engine runs in the FSM apply, so the
// new leader has nothing to resume: the deployment must go on and end Succeeded, every host must
// have the revision's files installed and the revision recorded, each hook must have run exactly
// once per host (counted in a log the hook writes on the host) and be recorded once in the
// deployment, every committed state of the rollout must keep the minimum of healthy hosts, no
// deployment may be created twice, every acknowledged create must be on the survivors, and the
// killed server, started again on its disk, must catch up to the same apps and the same finished
// deployment.
func TestRolloutSurvivesLeaderKill(t *testing.T) {
	start := time.Now()
	b := newBed(t, bedOptions{Agents: 6, Config: rolloutAgents})
	f := newFleet(b, "HalfAtATime")
	rev := f.push("v1-"+runID, 1500*time.Millisecond)
	w := startWriters(b, writerOptions{Prefix: "r", Concurrency: 6, Targets: b.all(), Pace: 200 * time.Millisecond})
	w.waitAcked(t, 60*time.Second, time.Time{}, 40, "creates acknowledged before the rollout")

	d := f.deploy(rev)
	deployAt := time.Now()
	mon := f.watch(d.ID)
	// Kill once the first hosts run their hooks and others wait: the new leader has to take in
	// their reports and start the rest.
	eventually(t, 2*time.Minute, "rollout in flight with hosts running and hosts not started", func() error {
		cur, err := mon.latest()
		if err != nil {
			return err
		}
		if cur.EndTime != nil {
			return nil // reported below
		}
		if countTargets(cur, tgInProgress) == 0 || countTargets(cur, tgWaiting) == 0 {
			return fmt.Errorf("%s", targetSummary(cur))
		}
		return nil
	})
	if cur, _ := mon.latest(); cur.EndTime != nil {
		t.Fatalf("the rollout ended (%s) before the fault: it proves nothing", cur.Status)
	}

	leader := b.WaitLeader(30*time.Second, b.all())
	killed := b.servers[leader]
	survivors := without(b.all(), leader)
	before, _ := mon.latest()
	sessions := agentSessions(killed)
	killed.Kill()
	killedAt := time.Now()
	f.via = survivors[0]
	// What the cluster had committed when the leader died: anything above it is progress made
	// under the new leader.
	idx := mon.lastIndexBefore(killedAt)
	for _, i := range survivors {
		if cur, err := f.get(d.ID, []int{i}, false); err == nil && cur.ModifyIndex > idx {
			idx = cur.ModifyIndex
		}
	}
	var newLeader int
	eventually(t, 30*time.Second, "survivors elect a new leader", func() error {
		l, err := b.leaderAmong(survivors)
		newLeader = l
		return err
	})
	failover := time.Since(killedAt)

	final := f.waitEnd(d.ID, survivors, 4*time.Minute)
	rolloutTook := time.Since(deployAt)
	mon.Stop()
	w.waitAcked(t, 60*time.Second, killedAt, 40, "creates acknowledged after the kill")
	w.Stop()

	rolloutRecover, ok := mon.progressAfter(killedAt, idx)
	if !ok {
		t.Errorf("the deployment was never seen to move on after the kill")
	}
	ops := w.Ops()
	writeRecover := firstAckAfter(ops, killedAt).Sub(killedAt)

	// The rollout.
	checked := f.checkFirstRolloutSucceeded(final, mon, rev)

	// The writes.
	tl := tallyOps(ops)
	f.track(tl)
	lost, apps := verify(b, tl, survivors)
	if t.Failed() {
		t.FailNow()
	}

	// The killed server comes back and catches up.
	restartAt := time.Now()
	killed.Restart()
	b.WaitHTTP(leader, 60*time.Second)
	b.WaitLeader(60*time.Second, b.all())
	waitLocalState(b, leader, apps, 60*time.Second)
	eventually(t, 60*time.Second, killed.id+" has the finished deployment", func() error {
		local, err := f.get(d.ID, []int{leader}, false)
		if err != nil {
			return err
		}
		if diff := sameOutcome(final, local); diff != "" || local.ModifyIndex != final.ModifyIndex {
			return fmt.Errorf("its copy differs (index %d, the cluster's %d): %s", local.ModifyIndex, final.ModifyIndex, diff)
		}
		return nil
	})
	catchUp := time.Since(restartAt)
	b.WaitAgentsOnline(60 * time.Second)

	recovered := max(rolloutRecover, writeRecover)
	t.Logf("killed leader %s (container, holding the sessions of agents %v) with the rollout at %s; new leader %s after %s; the rollout moved on %s after the kill "+
		"and ended %s after it started (HalfAtATime, 6 hosts, 4 hooks of 1.5 s each); the first create started after the kill was "+
		"acknowledged after %s; %d committed rollout states checked against the minimum of healthy hosts; %s caught up %s after its restart",
		killed.id, sessions, targetSummary(before), b.servers[newLeader].id, failover.Round(time.Millisecond), rolloutRecover.Round(time.Millisecond),
		rolloutTook.Round(time.Millisecond), writeRecover.Round(time.Millisecond), checked, killed.id, catchUp.Round(time.Millisecond))
	addReport(t, reportRow{
		Scenario: "rollout-leader-kill", Faults: fmt.Sprintf("docker kill leader %s mid-rollout, restart", killed.id),
		Acknowledged: len(tl.acked), Lost: len(lost), Unknown: len(tl.unknown), Recover: recovered,
	})
	t.Logf("rollout timeline: %s", timeline(final))
	t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
}

// TestAllServersStoppedAndStarted: with apps written, a revision pushed (a blob in the
// replicated store) and a HalfAtATime rollout to six hosts in flight (a host inside a 2 s hook),
// every server container is killed with SIGKILL. The agents keep running their hooks while no
// server is up (the test waits until one logs hook progress during the outage, and until every
// agent has seen its session end), then all three servers are started again on their disks.
// Every acknowledged create must be back, the revision must download through each server with
// the pushed sha256, and the rollout must continue and end Succeeded with each hook run once per
// host and each report applied once (an agent that was inside a hook when the servers died
// reports it after it reconnects), the revision installed everywhere and the minimum of healthy
// hosts kept in every committed state.
func TestAllServersStoppedAndStarted(t *testing.T) {
	start := time.Now()
	b := newBed(t, bedOptions{Agents: 6, Config: rolloutAgents})
	f := newFleet(b, "HalfAtATime")
	rev := f.push("v1-"+runID, 2*time.Second)
	w := startWriters(b, writerOptions{Prefix: "o", Concurrency: 6, Targets: b.all(), Pace: 200 * time.Millisecond, Timeout: 10 * time.Second})
	w.waitAcked(t, 60*time.Second, time.Time{}, 40, "creates acknowledged before the outage")

	d := f.deploy(rev)
	deployAt := time.Now()
	mon := f.watch(d.ID)
	var busy []string
	eventually(t, 2*time.Minute, "a host is inside a hook", func() error {
		busy, _ = inHook(t, b.agents, d.ID)
		if len(busy) == 0 {
			return fmt.Errorf("no host is inside a hook")
		}
		return nil
	})

	before, _ := mon.latest()
	ends := map[string]int{}
	for _, a := range b.agents {
		ends[a.role] = sessionEnds(a)
	}
	outageAt := time.Now()
	for _, s := range b.servers {
		s.Kill()
	}
	allDown := time.Now()
	busyAtOutage, linesAtOutage := inHook(t, b.agents, d.ID)
	// Agents need no server to run their hooks: wait until one logs progress with every server
	// down, and until every agent has seen its session end, so that what they did meanwhile is
	// reported over new sessions.
	eventually(t, 60*time.Second, "an agent runs hooks while every server is down", func() error {
		if _, n := inHook(t, b.agents, d.ID); n <= linesAtOutage {
			return fmt.Errorf("still %d hook log lines", n)
		}
		return nil
	})
	eventually(t, 60*time.Second, "every agent sees its session end", func() error {
		for _, a := range b.agents {
			if sessionEnds(a) == ends[a.role] {
				return fmt.Errorf("%s's session has not ended yet", a.role)
			}
		}
		return nil
	})
	_, linesBeforeRestart := inHook(t, b.agents, d.ID)
	outage := time.Since(allDown)

	restartAt := time.Now()
	for _, s := range b.servers {
		s.Restart()
	}
	for i := range b.servers {
		b.WaitHTTP(i, 60*time.Second)
	}
	b.WaitLeader(90*time.Second, b.all())
	leaderBack := time.Since(restartAt)

	final := f.waitEnd(d.ID, b.all(), 4*time.Minute)
	rolloutTook := time.Since(deployAt)
	mon.Stop()
	w.waitAcked(t, 60*time.Second, restartAt, 40, "creates acknowledged after the restart")
	w.Stop()
	rolloutRecover, ok := mon.progressAfter(restartAt, mon.lastIndexBefore(outageAt))
	if !ok {
		t.Errorf("the deployment was never seen to move on after the restart")
	}
	ops := w.Ops()
	writeRecover := firstAckAfter(ops, restartAt).Sub(restartAt)

	// The rollout.
	checked := f.checkFirstRolloutSucceeded(final, mon, rev)

	// The blob.
	for i, s := range b.servers {
		if err := f.checkDownload(rev, i); err != nil {
			t.Errorf("download revision %s through %s: %v", rev.ID, s.id, err)
		}
	}

	// The writes.
	tl := tallyOps(ops)
	f.track(tl)
	lost, apps := verify(b, tl, b.all())
	for i := range b.servers {
		waitLocalState(b, i, apps, 60*time.Second)
	}
	b.WaitAgentsOnline(60 * time.Second)

	t.Logf("killed all 3 servers with the rollout at %s (inside a hook: %v just before, %v just after); agents logged %d hook lines "+
		"while every server was down (%s, until every agent had seen its session end); a leader was agreed %s after the restart; "+
		"the rollout moved on %s after the restart and ended %s after it started (HalfAtATime, 6 hosts, 4 hooks of 2 s); the first create started after the restart was acknowledged "+
		"after %s; %d committed rollout states checked against the minimum of healthy hosts",
		targetSummary(before), busy, busyAtOutage, linesBeforeRestart-linesAtOutage, outage.Round(time.Millisecond),
		leaderBack.Round(time.Millisecond), rolloutRecover.Round(time.Millisecond), rolloutTook.Round(time.Millisecond),
		writeRecover.Round(time.Millisecond), checked)
	addReport(t, reportRow{
		Scenario: "all-servers-down", Faults: "docker kill all 3 servers mid-rollout, start",
		Acknowledged: len(tl.acked), Lost: len(lost), Unknown: len(tl.unknown), Recover: max(rolloutRecover, writeRecover),
	})
	t.Logf("rollout timeline: %s", timeline(final))
	t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
}

// TestRollingRestartDuringRollout: while a OneAtATime rollout to six hosts runs (hooks of 2 s)
// and writers create apps through all three servers, the servers are restarted one at a time,
// followers first and the leader last, as an operator upgrading the cluster would: SIGTERM to
// the server process (a graceful stop, the leader handing leadership over), start it again on its
// disk, and go on only once it answers, a leader is agreed and it has caught up (it holds an app
// created through the leader after its restart). The restarts are spread over the rollout (the
// k-th waits for k hosts to have succeeded) and every one must begin while the rollout is in
// flight. The rollout must end Succeeded with each hook run once per host and recorded once, the
// minimum of healthy hosts kept in every committed state, and no acknowledged create lost.
func TestRollingRestartDuringRollout(t *testing.T) {
	start := time.Now()
	b := newBed(t, bedOptions{Agents: 6, Config: rolloutAgents})
	f := newFleet(b, "OneAtATime")
	rev := f.push("v1-"+runID, 2*time.Second)
	w := startWriters(b, writerOptions{Prefix: "g", Concurrency: 6, Targets: b.all(), Pace: 200 * time.Millisecond})
	w.waitAcked(t, 60*time.Second, time.Time{}, 40, "creates acknowledged before the rollout")

	d := f.deploy(rev)
	deployAt := time.Now()
	mon := f.watch(d.ID)
	leader := b.WaitLeader(30*time.Second, b.all())
	order := append(without(b.all(), leader), leader)
	var cycles []string
	var stops []time.Time
	var stall time.Duration
	for k, i := range order {
		s := b.servers[i]
		// Spread the restarts over the rollout: restart k+1 waits for host k+1 to succeed.
		eventually(t, 2*time.Minute, fmt.Sprintf("%d hosts succeeded", k+1), func() error {
			cur, err := mon.latest()
			if err != nil {
				return err
			}
			if cur.EndTime == nil && countTargets(cur, tgSucceeded) < k+1 {
				return fmt.Errorf("%s", targetSummary(cur))
			}
			return nil
		})
		cur, _ := mon.latest()
		if cur.EndTime != nil {
			t.Errorf("the rollout ended (%s) before the restart of %s: the scenario restarted %d servers during it; make the hooks longer",
				cur.Status, s.id, k)
			break
		}
		wasLeader := i == leader
		stopAt := time.Now()
		idx := mon.lastIndexBefore(stopAt)
		s.StopProcess()
		s.RestartProcess()
		b.WaitHTTP(i, 60*time.Second)
		l := b.WaitLeader(60*time.Second, b.all())
		marker := f.createMarker(fmt.Sprintf("restart-%d-%s", k, s.id), l)
		cl := b.Client(i)
		eventually(t, 60*time.Second, s.id+" catches up", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a, err := cl.AppGet(ctx, marker.Name, nil) // its own state, not the leader's
			if err != nil {
				return err
			}
			if a.CreateIndex != marker.CreateIndex {
				return fmt.Errorf("%s has create index %d, %d on the leader", marker.Name, a.CreateIndex, marker.CreateIndex)
			}
			return nil
		})
		cycle := time.Since(stopAt)
		if p, ok := mon.progressAfter(stopAt, idx); ok {
			stall = max(stall, p)
		}
		stops = append(stops, stopAt)
		cycles = append(cycles, fmt.Sprintf("%s (leader %v) stopped with the rollout at %s, back and caught up in %s, then leader %s",
			s.id, wasLeader, targetSummary(cur), cycle.Round(time.Millisecond), b.servers[l].id))
	}

	final := f.waitEnd(d.ID, b.all(), 4*time.Minute)
	rolloutTook := time.Since(deployAt)
	mon.Stop()
	w.waitAcked(t, 60*time.Second, time.Now(), 20, "creates acknowledged after the rolling restart")
	w.Stop()
	ops := w.Ops()
	for _, at := range stops {
		stall = max(stall, firstAckAfter(ops, at).Sub(at))
	}

	checked := f.checkFirstRolloutSucceeded(final, mon, rev)

	tl := tallyOps(ops)
	f.track(tl)
	lost, apps := verify(b, tl, b.all())
	for i := range b.servers {
		waitLocalState(b, i, apps, 60*time.Second)
	}
	b.WaitAgentsOnline(60 * time.Second)

	t.Logf("rolling restart: %s; the rollout ended %s after it started (OneAtATime, 6 hosts, 4 hooks of 2 s); longest wait for "+
		"the rollout or a write to move on after a stop: %s; %d committed rollout states checked against the minimum of healthy hosts",
		strings.Join(cycles, "; "), rolloutTook.Round(time.Millisecond), stall.Round(time.Millisecond), checked)
	addReport(t, reportRow{
		Scenario: "rolling-restart", Faults: "SIGTERM+start servers one by one mid-rollout",
		Acknowledged: len(tl.acked), Lost: len(lost), Unknown: len(tl.unknown), Recover: stall,
	})
	t.Logf("rollout timeline: %s", timeline(final))
	t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
}

// sessionEnds counts the times the agent's session with a server has ended, from its log.
func sessionEnds(a *container) int {
	return strings.Count(a.Logs(), `msg="session ended`)
}
