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

// TestLeaderKilledDuringConcurrentCreates: 200 writers, each with one app create in flight,
// spread over all three servers, while the leader is killed with SIGKILL. Every acknowledged
// create must be on both survivors at the index it was acknowledged at (read with
// ?consistent=true), no create may come back as a conflict (a retried create applied twice),
// and the killed server, started again on its disk, catches up to the same state.
//
// Two kinds of kill:
//   - process: kill -9 of the slipway process; the container (the host) stays up, so peers
//     dialling it are refused at once.
//   - host: docker kill -s KILL of the whole container; its address goes silent, so dials and
//     open connections to it hang until their timeouts, as after a power cut.
func TestLeaderKilledDuringConcurrentCreates(t *testing.T) {
	t.Run("process", func(t *testing.T) {
		leaderKilled(t, "kill -9 leader process", (*server).KillProcess, (*server).RestartProcess)
	})
	t.Run("host", func(t *testing.T) {
		// This once stalled for minutes: raftstore's connection pool dialled the silent old
		// leader under its pool-wide lock, so calls to the new leader queued behind it.
		leaderKilled(t, "docker kill -s KILL leader", func(s *server) { s.Kill() }, func(s *server) { s.Restart() })
	})
}

func leaderKilled(t *testing.T, fault string, kill, restart func(*server)) {
	b := newBed(t, bedOptions{Agents: 2})
	leader := b.WaitLeader(30*time.Second, b.all())
	killed := b.servers[leader]
	survivors := without(b.all(), leader)

	w := startWriters(b, writerOptions{Prefix: "k", Concurrency: 200, Targets: b.all(), Pace: 200 * time.Millisecond})
	w.waitAcked(t, 60*time.Second, time.Time{}, 200, "creates acknowledged before the kill")

	kill(killed)
	killedAt := time.Now() // once the kill has taken effect: a write started before may rightly succeed
	var newLeader int
	eventually(t, 30*time.Second, "survivors elect a new leader", func() error {
		l, err := b.leaderAmong(survivors)
		if err != nil {
			return err
		}
		newLeader = l
		return nil
	})
	failover := time.Since(killedAt)
	w.waitAcked(t, 60*time.Second, killedAt, 200, "creates acknowledged after the kill")
	w.Stop()
	ops := w.Ops()
	recovered := firstAckAfter(ops, killedAt).Sub(killedAt)
	tl := tallyOps(ops)
	lost, final := verify(b, tl, survivors)
	if t.Failed() {
		t.FailNow()
	}

	restartAt := time.Now()
	restart(killed)
	b.WaitHTTP(leader, 30*time.Second)
	b.WaitLeader(60*time.Second, b.all())
	waitLocalState(b, leader, final, 60*time.Second)
	catchUp := time.Since(restartAt)
	b.WaitAgentsOnline(30 * time.Second)

	appliedUnacked := 0
	for name := range tl.unknown {
		if _, ok := final[name]; ok {
			appliedUnacked++
		}
	}
	t.Logf("%s: %s; new leader %s seen after %s; first create started after the kill acknowledged after %s; "+
		"restarted %s caught up in %s; %d of %d unknown-outcome creates were applied",
		fault, killed.id, b.servers[newLeader].id, failover.Round(time.Millisecond), recovered.Round(time.Millisecond),
		killed.id, catchUp.Round(time.Millisecond), appliedUnacked, len(tl.unknown))
	if len(tl.unknown) > 0 {
		t.Logf("unknown outcomes, first few: %s", firstErrors(tl.unknown, 3))
	}
	addReport(t, reportRow{
		Scenario: "leader-kill/" + t.Name()[strings.LastIndexByte(t.Name(), '/')+1:], Faults: fmt.Sprintf("%s %s, restart", fault, killed.id),
		Acknowledged: len(tl.acked), Lost: len(lost), Unknown: len(tl.unknown), Recover: recovered,
	})
}

// TestLeaderPartitionedDuringWrites: the leader is cut off the cluster network (it keeps its
// client-side address, so clients can still send it requests) while writers go through all three
// servers. The isolated node must acknowledge no write that started after the cut and must stop
// calling itself leader; the other two elect a new leader and keep acknowledging writes; after
// the heal every acknowledged write is on all three servers and the old leader catches up.
func TestLeaderPartitionedDuringWrites(t *testing.T) {
	b := newBed(t, bedOptions{})
	leader := b.WaitLeader(30*time.Second, b.all())
	isolated := b.servers[leader]
	majority := without(b.all(), leader)

	mw := startWriters(b, writerOptions{Prefix: "m", Concurrency: 24, Targets: majority, Pace: 50 * time.Millisecond})
	// Writers through the leader give up fast, so their answers are in before the heal: a write
	// still being retried at the heal could rightly succeed then.
	iw := startWriters(b, writerOptions{Prefix: "i", Concurrency: 8, Targets: []int{leader},
		Timeout: 5 * time.Second, RetryFor: 2 * time.Second, Pace: 50 * time.Millisecond})
	mw.waitAcked(t, 60*time.Second, time.Time{}, 100, "creates through the followers before the cut")
	iw.waitAcked(t, 60*time.Second, time.Time{}, 50, "creates through the leader before the cut")

	cutAt := time.Now()
	isolated.Disconnect(b.cluster)
	cutDone := time.Now()
	// The cut must really separate the leader from its peers, both ways.
	for _, i := range majority {
		peer := b.servers[i]
		if isolated.CanDial(net.JoinHostPort(peer.clusterAddr(b), fmt.Sprint(raftPort))) {
			t.Fatalf("the cut leaks: %s still reaches %s's Raft port", isolated.id, peer.id)
		}
		if peer.CanDial(net.JoinHostPort(isolated.clusterAddr(b), fmt.Sprint(raftPort))) {
			t.Fatalf("the cut leaks: %s still reaches %s's Raft port", peer.id, isolated.id)
		}
	}

	var newLeader int
	eventually(t, 30*time.Second, "the majority elects a new leader", func() error {
		l, err := b.leaderAmong(majority)
		if err != nil {
			return err
		}
		newLeader = l
		return nil
	})
	failover := time.Since(cutAt)
	var stepDown time.Duration
	eventually(t, 30*time.Second, "the isolated leader steps down", func() error {
		h, err := b.health(leader)
		if err != nil {
			return err
		}
		if h.RaftState == "leader" {
			return fmt.Errorf("%s still says it is the leader", isolated.id)
		}
		stepDown = time.Since(cutAt)
		return nil
	})
	mw.waitAcked(t, 60*time.Second, cutDone, 200, "creates through the majority after the cut")
	// Let every writer through the isolated node finish requests that started after the cut.
	eventually(t, 60*time.Second, "answers from the isolated node to creates sent after the cut", func() error {
		if n := iw.countFinished(cutDone); n < 16 {
			return fmt.Errorf("%d of 16", n)
		}
		return nil
	})
	iw.Stop()

	iops := iw.Ops()
	triedCut := 0
	for _, r := range iops {
		if !r.start.After(cutDone) {
			continue
		}
		triedCut++
		if r.outcome == acked {
			t.Errorf("split brain: %s acknowledged create %s (index %d) that started %s after it was cut off",
				isolated.id, r.name, r.index, r.start.Sub(cutDone).Round(time.Millisecond))
		}
	}
	if triedCut == 0 {
		t.Fatalf("no write was sent to %s while it was cut off: the check proves nothing", isolated.id)
	}

	healAt := time.Now()
	isolated.Connect(b.cluster)
	b.WaitLeader(60*time.Second, b.all())
	healed := time.Since(healAt)
	mw.waitAcked(t, 60*time.Second, healAt, 100, "creates after the heal")
	mw.Stop()

	ops := append(mw.Ops(), iops...)
	recovered := firstAckAfter(mw.Ops(), cutDone).Sub(cutAt)
	tl := tallyOps(ops)
	lost, final := verify(b, tl, b.all())
	if t.Failed() {
		t.FailNow()
	}
	for i := range b.servers {
		waitLocalState(b, i, final, 60*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Client(leader).AppCreate(ctx, api.AppCreateRequest{Name: "after-heal"}); err != nil {
		t.Errorf("create through the healed %s: %v", isolated.id, err)
	}

	t.Logf("%s cut off; new leader %s seen after %s; %s stepped down after %s; first create started after the cut acknowledged after %s; "+
		"%d creates sent to %s while cut off, none acknowledged; cluster agreed on a leader %s after the heal",
		isolated.id, b.servers[newLeader].id, failover.Round(time.Millisecond), isolated.id, stepDown.Round(time.Millisecond),
		recovered.Round(time.Millisecond), triedCut, isolated.id, healed.Round(time.Millisecond))
	addReport(t, reportRow{
		Scenario: "leader-partition", Faults: fmt.Sprintf("cut leader %s off %s, heal", isolated.id, "cluster net"),
		Acknowledged: len(tl.acked), Lost: len(lost), Unknown: len(tl.unknown), Recover: recovered,
	})
}

func without(s []int, x int) []int {
	var out []int
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}
