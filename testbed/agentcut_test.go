//go:build testbed

package testbed

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestAgentCutOffMidHook: a HalfAtATime rollout to six hosts (minimum 3 healthy) where host a0's
// AfterInstall takes 20 s; while a0 is inside that hook it is cut off the cluster network. The
// servers run with a 1 s agent heartbeat and a 6 s host timeout. It proves that:
//
//   - the silent host is failed in the deployment within about the session and host timeouts
//     (measured from the cut and reported; waited for with a generous bound);
//   - the rollout obeys the minimum-healthy rule: every committed state keeps at least 3 hosts in
//     service, and with one host failed and five succeeded (>= 3) the deployment ends Succeeded;
//   - the agent, cut off, finishes its hooks and records success locally; once healed it
//     reconnects and delivers those late reports (its outbox drains, so the cluster acknowledged
//     them), and they change nothing: the deployment's outcome, a0's failure and lifecycle
//     records, the group's health of a0 and a0's current revision stay as they were;
//   - the host stays usable: a following deployment of a new revision to the group succeeds on
//     every host, a0 included, with each hook run once.
//
// Writers create apps throughout; every acknowledged create must be present.
func TestAgentCutOffMidHook(t *testing.T) {
	start := time.Now()
	const heartbeat, hostTimeout = time.Second, 6 * time.Second
	b := newBed(t, bedOptions{Agents: 6, Config: agentsConfig(heartbeat, hostTimeout)})
	f := newFleet(b, "HalfAtATime")
	victim := b.agents[0] // first in the rollout's order: the hosts are new and sorted by name
	if out, err := victim.Exec("sh", "-c", "echo 20 > "+slowPrefix+"AfterInstall"); err != nil {
		t.Fatalf("%s: %v: %s", victim.role, err, out)
	}
	rev := f.push("v1-"+runID, time.Second)
	w := startWriters(b, writerOptions{Prefix: "c", Concurrency: 4, Targets: b.all(), Pace: 200 * time.Millisecond})
	w.waitAcked(t, 60*time.Second, time.Time{}, 20, "creates acknowledged before the rollout")

	d := f.deploy(rev)
	mon := f.watch(d.ID)
	eventually(t, 2*time.Minute, victim.role+" is inside its long AfterInstall", func() error {
		c := hookRuns(t, []*container{victim}, d.ID)[victim.role]["AfterInstall"]
		if c.begin != 1 || c.end != 0 {
			return fmt.Errorf("AfterInstall began %d and ended %d times", c.begin, c.end)
		}
		return nil
	})

	// The cut.
	cutAt := time.Now()
	victim.Disconnect(b.cluster)
	for _, s := range b.servers {
		if victim.CanDial(net.JoinHostPort(s.clusterAddr(b), fmt.Sprint(httpPort))) {
			t.Fatalf("the cut leaks: %s still reaches %s", victim.role, s.id)
		}
	}
	var failedAfter time.Duration
	var failedTarget api.DeploymentTarget
	eventually(t, hostTimeout+30*time.Second, victim.role+" is failed in the deployment", func() error {
		cur, err := f.get(d.ID, b.all(), true)
		if err != nil {
			return err
		}
		tg := target(cur, victim.role)
		if tg == nil || tg.Status != tgFailed {
			return fmt.Errorf("%s", targetSummary(cur))
		}
		failedAfter, failedTarget = time.Since(cutAt), *tg
		return nil
	})
	stillInHook := hookRuns(t, []*container{victim}, d.ID)[victim.role]["AfterInstall"].end == 0
	if !strings.Contains(failedTarget.Message, "not heard from") {
		t.Errorf("%s failed with %q, want the host timeout's reason", victim.role, failedTarget.Message)
	}

	d1 := f.waitEnd(d.ID, b.all(), 3*time.Minute)
	mon.Stop()
	others := f.hosts()[1:]
	// HalfAtATime over 6 hosts: at least 3 must stay healthy. One failure leaves 5 to succeed,
	// which is above the minimum, so the rules say the deployment succeeds.
	if d1.MinHealthy != 3 {
		t.Errorf("deployment %s: minimum of healthy hosts %d, want 3 (HalfAtATime of 6)", d1.ID, d1.MinHealthy)
	}
	if d1.Status != api.DeploymentSucceeded {
		t.Errorf("deployment %s ended %s (%s), want succeeded: 5 hosts succeeding meet the minimum of %d", d1.ID, d1.Status, d1.Message, d1.MinHealthy)
	}
	for _, h := range others {
		if tg := target(d1, h); tg == nil || tg.Status != tgSucceeded {
			t.Errorf("host %s: %+v, want succeeded", h, tg)
		}
	}
	if tg := target(d1, victim.role); tg == nil || tg.Status != tgFailed {
		t.Errorf("host %s: %+v, want failed", victim.role, tg)
	}
	checked := checkMinHealthy(t, mon.Samples(), nil)
	checkRecordsOnce(t, d1, firstInstall)
	checkInstalled(t, b.agents, others, rev.version)
	f.checkHostRevisions(others, rev.ID)
	g1 := f.groupGet()
	h1 := f.hostGet(victim.role)
	if g1.CurrentRevision != rev.ID || memberHealth(g1, victim.role) != "unhealthy" {
		t.Errorf("group after the deployment: current revision %q (want %s), %s %q (want unhealthy)", g1.CurrentRevision, rev.ID,
			victim.role, memberHealth(g1, victim.role))
	}
	if h1.Revisions[f.app+"/"+f.group] == rev.ID {
		t.Errorf("host %s failed but has revision %s recorded as its current one", victim.role, rev.ID)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Cut off, the agent finishes its hooks and its reports wait in its outbox.
	eventually(t, time.Minute, victim.role+" finishes its hooks while cut off", func() error {
		c := hookRuns(t, []*container{victim}, d.ID)[victim.role]["ValidateService"]
		if c.end != 1 {
			return fmt.Errorf("ValidateService began %d and ended %d times", c.begin, c.end)
		}
		return nil
	})
	if !outboxHolds(t, victim, d.ID) {
		t.Fatalf("%s holds no unacknowledged report of %s before the heal: there is no late report to test", victim.role, d.ID)
	}

	// The heal.
	healAt := time.Now()
	victim.Connect(b.cluster)
	cl := b.Client(0)
	eventually(t, time.Minute, victim.role+" back online", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h, err := cl.HostGet(ctx, victim.role, &api.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if h.Status != api.HostOnline {
			return fmt.Errorf("host %s is %s", victim.role, h.Status)
		}
		return nil
	})
	online := time.Since(healAt)
	// An agent deletes a deployment's outbox only once the deployment has ended there and the
	// cluster has acknowledged every report of it, which it does after committing them. The
	// agent sends what is unacknowledged on connecting and again every 15 s: 30 s is plenty.
	lateAck := "were never acknowledged"
	if err := poll(30*time.Second, func() error {
		if outboxHolds(t, victim, d.ID) {
			return fmt.Errorf("%s.jsonl is still in its outbox", d.ID)
		}
		return nil
	}); err == nil {
		lateAck = "were acknowledged " + time.Since(healAt).Round(time.Millisecond).String() + " after the heal"
	} else {
		out, _ := victim.Exec("sh", "-c", "cut -c1-160 "+agentOutbox+"/"+d.ID+".jsonl | tail -n 4")
		cur, _ := f.get(d.ID, b.all(), true)
		idx := uint64(0)
		if cur != nil {
			idx = cur.ModifyIndex
		}
		t.Errorf("%s's late reports of %s are never acknowledged %s after the heal: %v; its agent keeps them and sends them "+
			"again every 15 s (deployment %s ended at index %d, now at %d); the outbox ends with:\n%s",
			victim.role, d.ID, time.Since(healAt).Round(time.Millisecond), err, d.ID, d1.ModifyIndex, idx, out)
		// They reach the cluster all the same: each one commits and rewrites the deployment.
		eventually(t, 30*time.Second, "a late report of "+victim.role+" is committed", func() error {
			cur, err := f.get(d.ID, b.all(), true)
			if err != nil {
				return err
			}
			if cur.ModifyIndex == d1.ModifyIndex {
				return fmt.Errorf("deployment %s is still at index %d", d.ID, cur.ModifyIndex)
			}
			return nil
		})
	}
	leader := b.WaitLeader(30*time.Second, b.all())
	f.createMarker("after-heal", leader) // a write after the late reports: the reads below follow them

	d1b, err := f.get(d.ID, b.all(), true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameOutcome(d1, d1b); diff != "" {
		t.Fatalf("the late reports of %s changed deployment %s: %s", victim.role, d.ID, diff)
	}
	g1b := f.groupGet()
	if g1b.CurrentRevision != g1.CurrentRevision || memberHealth(g1b, victim.role) != memberHealth(g1, victim.role) ||
		memberRevision(g1b, victim.role) != memberRevision(g1, victim.role) {
		t.Errorf("the late reports changed the group: current revision %q -> %q, %s %q/%q -> %q/%q", g1.CurrentRevision, g1b.CurrentRevision,
			victim.role, memberHealth(g1, victim.role), memberRevision(g1, victim.role), memberHealth(g1b, victim.role), memberRevision(g1b, victim.role))
	}
	if h := f.hostGet(victim.role); h.Revisions[f.app+"/"+f.group] != h1.Revisions[f.app+"/"+f.group] {
		t.Errorf("the late reports changed %s's current revision: %q -> %q", victim.role, h1.Revisions[f.app+"/"+f.group], h.Revisions[f.app+"/"+f.group])
	}

	// The host stays usable: the next deployment succeeds on every host.
	if out, err := victim.Exec("rm", "-f", slowPrefix+"AfterInstall"); err != nil {
		t.Fatalf("%s: %v: %s", victim.role, err, out)
	}
	rev2 := f.push("v2-"+runID, time.Second)
	d2 := f.deploy(rev2)
	mon2 := f.watch(d2.ID)
	final2 := f.waitEnd(d2.ID, b.all(), 3*time.Minute)
	mon2.Stop()
	w.Stop()
	if final2.Status != api.DeploymentSucceeded || countTargets(final2, tgSucceeded) != len(b.agents) {
		t.Errorf("deployment %s ended %s (%s): %s", final2.ID, final2.Status, final2.Message, targetSummary(final2))
	}
	checked += checkMinHealthy(t, mon2.Samples(), map[string]bool{victim.role: true})
	checkRecordsOnce(t, final2, firstInstall)
	// Every host had a revision installed, so ApplicationStop runs the previous one's script
	// once: a0 too, whose agent finished the first deployment successfully while cut off.
	again := map[string]int{"ApplicationStop": 1}
	for ev, n := range firstInstall {
		again[ev] = n
	}
	runs := hookRuns(t, b.agents, d.ID)
	checkHookRuns(t, runs, d.ID, f.hosts(), firstInstall) // the first deployment's hooks ran once, a0's too, none again
	checkHookRuns(t, hookRuns(t, b.agents, d2.ID), d2.ID, f.hosts(), again)
	checkInstalled(t, b.agents, f.hosts(), rev2.version)
	f.checkHostRevisions(f.hosts(), rev2.ID)
	f.checkDeploymentCount(2)

	endIndex := d1b.ModifyIndex
	if cur, err := f.get(d.ID, b.all(), true); err == nil {
		endIndex = cur.ModifyIndex
	}

	tl := tallyOps(w.Ops())
	f.track(tl)
	lost, _ := verify(b, tl, b.all())

	t.Logf("cut %s off the cluster network inside its 20 s AfterInstall (heartbeat %s, host timeout %s): failed in the deployment %s "+
		"after the cut (hook still running then: %v); deployment %s ended %s with %d of 6 hosts succeeded (minimum %d); after the heal "+
		"%s was online in %s and its late reports %s, changing nothing (deployment "+
		"index %d at its end, %d after the heal, %d at the scenario's end); "+
		"the next deployment %s ended %s on all 6 hosts; %d committed rollout states checked against the minimum of healthy hosts",
		victim.role, heartbeat, hostTimeout, failedAfter.Round(time.Millisecond), stillInHook, d1.ID, d1.Status,
		countTargets(d1, tgSucceeded), d1.MinHealthy, victim.role, online.Round(time.Millisecond), lateAck,
		d1.ModifyIndex, d1b.ModifyIndex, endIndex, d2.ID, final2.Status, checked)
	addReport(t, reportRow{
		Scenario: "agent-cut-mid-hook", Faults: fmt.Sprintf("cut agent %s off cluster net mid-hook, heal", victim.role),
		Acknowledged: len(tl.acked), Lost: len(lost), Unknown: len(tl.unknown), Recover: failedAfter,
	})
	t.Logf("rollout timelines: %s; then %s", timeline(d1), timeline(final2))
	t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
}

// groupGet reads the fleet's group consistently.
func (f *fleet) groupGet() *api.Group {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := f.b.Client(f.via).GroupGet(ctx, f.app, f.group, &api.QueryOptions{Consistent: true})
	if err != nil {
		f.t.Fatalf("group get: %v", err)
	}
	return g
}

// hostGet reads a host consistently.
func (f *fleet) hostGet(name string) *api.Host {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := f.b.Client(f.via).HostGet(ctx, name, &api.QueryOptions{Consistent: true})
	if err != nil {
		f.t.Fatalf("host get %s: %v", name, err)
	}
	return h
}

func memberHealth(g *api.Group, host string) string {
	for _, m := range g.Members {
		if m.Host == host {
			return m.Health
		}
	}
	return "<not a member>"
}

func memberRevision(g *api.Group, host string) string {
	for _, m := range g.Members {
		if m.Host == host {
			return m.Revision
		}
	}
	return "<not a member>"
}
