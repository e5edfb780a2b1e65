//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestClusterFormsFromFlags (scenario 1): three `slipway server` processes started with
// --bootstrap-expect 3 and each other's Raft addresses in --join form a cluster with no other
// step, and `slipway operator raft list-peers` shows three voters and one leader from every node.
// The servers get no --node-id, so each makes up its own.
func TestClusterFormsFromFlags(t *testing.T) {
	logMachine(t)
	start := time.Now()
	c := startCluster(t, 3, clusterOptions{NoNodeIDs: true})

	listPeers := func(i int) (api.RaftConfiguration, error) {
		r := runCLI(t, "", c.Env(i), "operator", "raft", "list-peers", "--output", "json")
		var conf api.RaftConfiguration
		if r.code != 0 {
			return conf, errors.New(r.String())
		}
		if err := json.Unmarshal([]byte(r.stdout), &conf); err != nil {
			return conf, fmt.Errorf("list-peers output is not JSON: %w\n%s", err, r.stdout)
		}
		return conf, checkThreeVoters(conf)
	}
	eventually(t, 60*time.Second, "list-peers through server0 shows 3 voters and one leader", func() error {
		_, err := listPeers(0)
		return err
	})
	t.Logf("cluster formed %s after the processes started", time.Since(start).Round(time.Millisecond))

	// Every node reports the same configuration: the three processes at their addresses, with the
	// leader they all agree on.
	leader := c.WaitLeader(30 * time.Second)
	ids := map[string]bool{}
	for _, nd := range c.nodes {
		ids[nd.id] = true
	}
	if len(ids) != 3 {
		t.Fatalf("the servers do not have three distinct node IDs: %v", sortedKeys(ids))
	}
	want := map[string]api.RaftServer{}
	for i, nd := range c.nodes {
		want[nd.id] = api.RaftServer{ID: nd.id, RaftAddr: nd.raftAddr, HTTPAddr: nd.URL(), Leader: i == leader, Voter: true}
	}
	for i := range c.nodes {
		eventually(t, 30*time.Second, fmt.Sprintf("list-peers through server%d", i), func() error {
			conf, err := listPeers(i)
			if err != nil {
				return err
			}
			got := map[string]api.RaftServer{}
			for _, s := range conf.Servers {
				if !s.Reachable {
					return fmt.Errorf("peer %s is not reachable from server%d: %+v", s.ID, i, s)
				}
				s.Reachable, s.LastContact, s.LastContactAgeMS = false, nil, nil // compared apart
				got[s.ID] = s
			}
			for id, w := range want {
				if got[id] != w {
					return fmt.Errorf("peer %s: got %+v, want %+v", id, got[id], w)
				}
			}
			return nil
		})
	}

	// Formed means usable: the seeded management token works and a write through a follower
	// is visible on every node.
	follower := (leader + 1) % 3
	if r := runCLI(t, "", c.Env(follower), "app", "create", "formed"); r.code != 0 {
		t.Fatalf("create through a follower: %s", r)
	}
	for i := range c.nodes {
		if r := runCLI(t, "", c.Env(i), "app", "get", "formed", "--consistent"); r.code != 0 {
			t.Fatalf("read through server%d: %s", i, r)
		}
	}
}

func checkThreeVoters(conf api.RaftConfiguration) error {
	voters, leaders := 0, 0
	for _, s := range conf.Servers {
		if s.Voter {
			voters++
		}
		if s.Leader {
			leaders++
		}
	}
	if len(conf.Servers) != 3 || voters != 3 || leaders != 1 {
		return fmt.Errorf("want 3 servers, 3 voters and 1 leader; got %d servers, %d voters, %d leaders: %+v",
			len(conf.Servers), voters, leaders, conf.Servers)
	}
	return nil
}

// TestLeaderSIGKILLUnderConcurrentWrites (scenario 2): eight clients spread over the three nodes
// keep creating applications while the leader process is killed with SIGKILL. Every create that
// was acknowledged must be readable with ?consistent=true from both survivors at the index it was
// acknowledged at; no create may come back as a conflict (every name is used once, so a conflict
// means a retried create was applied twice); and the killed server, restarted on its data dir,
// catches up to the same set of applications.
func TestLeaderSIGKILLUnderConcurrentWrites(t *testing.T) {
	logMachine(t)
	c := startCluster(t, 3, clusterOptions{})
	leader := c.WaitLeader(60 * time.Second)
	c.WaitToken(30 * time.Second)
	survivors := without([]int{0, 1, 2}, leader)

	w := startWriters(t, c, 8, []int{0, 1, 2}, "w")
	eventually(t, 30*time.Second, "writes acknowledged before the kill", func() error {
		if n := w.ackedSince(time.Time{}); n < 200 {
			return fmt.Errorf("%d acknowledged so far", n)
		}
		return nil
	})

	killedID := c.nodes[leader].id
	killedAt := time.Now()
	c.nodes[leader].proc.Signal(syscall.SIGKILL)
	if code := c.nodes[leader].proc.Wait(10 * time.Second); code != -1 {
		t.Fatalf("killed leader exited with code %d, want death by signal", code)
	}
	var newLeader int
	eventually(t, 30*time.Second, "survivors agree on a new leader", func() error {
		l, err := c.leaderAmong(survivors)
		if err != nil {
			return err
		}
		if c.nodes[l].id == killedID {
			return fmt.Errorf("survivors still follow the killed node %s", killedID)
		}
		newLeader = l
		return nil
	})
	electedAt := time.Now()
	failover := electedAt.Sub(killedAt)

	eventually(t, 60*time.Second, "writes acknowledged under the new leader", func() error {
		if n := w.ackedSince(electedAt); n < 200 {
			return fmt.Errorf("%d acknowledged since the new leader was seen", n)
		}
		return nil
	})
	w.Stop()
	acked, failed, conflicts, attempted := w.results()

	for name, err := range conflicts {
		t.Errorf("%s: conflict on a name created once: the create was applied twice: %v", name, err)
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged")
	}

	// Every acknowledged create is on both survivors, read through the leader.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lost := map[string]bool{}
	var final map[string]api.App
	for _, i := range survivors {
		apps, err := testutil.ListApps(ctx, c.Client(i), true)
		if err != nil {
			t.Fatalf("consistent list through server%d: %v", i, err)
		}
		for name, a := range acked {
			got, ok := apps[name]
			switch {
			case !ok:
				lost[name] = true
				t.Errorf("server%d: acknowledged create %s (index %d) is missing", i, name, a.index)
			case got.CreateIndex != a.index:
				lost[name] = true
				t.Errorf("server%d: %s has create index %d, acknowledged at %d", i, name, got.CreateIndex, a.index)
			}
		}
		for name := range apps {
			if !attempted[name] {
				t.Errorf("server%d: app %s was never created by a client", i, name)
			}
		}
		if final == nil {
			final = apps
		} else if d := testutil.SetDiff(final, apps); d != "" {
			t.Errorf("consistent reads through the survivors differ: %s", d)
		}
	}
	// A sample of single reads with ?consistent=true through each survivor, as a client would.
	names := sortedKeys(acked)
	for k, name := range names {
		if k%max(1, len(names)/50) != 0 {
			continue
		}
		for _, i := range survivors {
			if _, err := c.Client(i).AppGet(ctx, name, &api.QueryOptions{Consistent: true}); err != nil {
				lost[name] = true
				t.Errorf("server%d: consistent get %s: %v", i, name, err)
			}
		}
	}
	// A failed create's outcome is unknown to its client; count the ones that did land, and
	// among them those whose error claimed the server could not be reached at all.
	appliedUnacked, refusedButApplied := 0, 0
	for name, err := range failed {
		if _, ok := final[name]; ok {
			appliedUnacked++
			if errors.Is(err, syscall.ECONNREFUSED) {
				refusedButApplied++
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The killed server, restarted on its data dir, catches up: its own (local) state holds the
	// same applications at the same indexes.
	restartAt := time.Now()
	c.Restart(leader)
	c.WaitLeader(60 * time.Second)
	local := c.Client(leader)
	eventually(t, 60*time.Second, "restarted server catches up", func() error {
		apps, err := testutil.ListApps(ctx, local, false)
		if err != nil {
			return err
		}
		if err := testutil.SameApps(final, apps); err != nil {
			return fmt.Errorf("the restarted server against the survivors: %w", err)
		}
		return nil
	})
	catchUp := time.Since(restartAt)

	t.Logf("scenario 2 summary: writes acknowledged %d (%d after the new leader was seen), lost %d (must be 0), "+
		"failed %d (%d of them applied anyway, %d of those with a 'connection refused' error), conflicts %d, new leader %s (%s) %s after SIGKILL of %s, restarted node caught up in %s",
		len(acked), w.ackedSince(electedAt), len(lost), len(failed), appliedUnacked, refusedButApplied, len(conflicts),
		c.nodes[newLeader].id, fmt.Sprintf("server%d", newLeader), failover.Round(time.Millisecond), killedID, catchUp.Round(time.Millisecond))
	if len(failed) > 0 {
		t.Logf("failed creates (outcome unknown to the client), first few: %s", firstErrors(failed, 3))
	}
}

// TestGracefulStopTransfersLeadership (scenario 5): SIGTERM to the leader hands leadership over
// before the process exits. The Raft heartbeat timeout is set to 3s, so without a transfer no
// follower could even start an election until about 3s after the leader went quiet; with one, the
// survivors name a new leader well before that. Writes through the survivors keep working across
// the stop, with no error reaching the client.
func TestGracefulStopTransfersLeadership(t *testing.T) {
	logMachine(t)
	const heartbeat = 3 * time.Second
	const promptly = 2 * time.Second
	c := startCluster(t, 3, clusterOptions{
		Config: fmt.Sprintf("raft:\n  heartbeat_timeout: %s\n  election_timeout: %s\n", heartbeat, heartbeat),
	})
	leader := c.WaitLeader(60 * time.Second)
	c.WaitToken(30 * time.Second)
	survivors := without([]int{0, 1, 2}, leader)
	oldID := c.nodes[leader].id

	w := startWriters(t, c, 4, survivors, "g")
	eventually(t, 30*time.Second, "writes acknowledged before the stop", func() error {
		if n := w.ackedSince(time.Time{}); n < 50 {
			return fmt.Errorf("%d acknowledged so far", n)
		}
		return nil
	})

	stoppedAt := time.Now()
	c.nodes[leader].proc.Signal(syscall.SIGTERM)
	var newLeader int
	eventually(t, 30*time.Second, "survivors agree on a new leader", func() error {
		l, err := c.leaderAmong(survivors)
		if err != nil {
			return err
		}
		if c.nodes[l].id == oldID {
			return fmt.Errorf("survivors still follow %s", oldID)
		}
		newLeader = l
		return nil
	})
	handover := time.Since(stoppedAt)
	if code := c.nodes[leader].proc.Wait(45 * time.Second); code != 0 {
		t.Errorf("the stopped leader exited with code %d, want 0", code)
	}
	exited := c.nodes[leader].proc.exitedAt.Sub(stoppedAt)
	if handover > promptly {
		t.Errorf("survivors saw the new leader %s after SIGTERM, want under %s: with a %s heartbeat timeout that "+
			"looks like an election after a timeout, not a leadership transfer", handover.Round(time.Millisecond), promptly, heartbeat)
	}

	electedAt := time.Now()
	eventually(t, 30*time.Second, "writes acknowledged after the stop", func() error {
		if n := w.ackedSince(electedAt); n < 50 {
			return fmt.Errorf("%d acknowledged since the new leader was seen", n)
		}
		return nil
	})
	w.Stop()
	acked, failed, conflicts, _ := w.results()
	for name, err := range failed {
		t.Errorf("write %s through a survivor failed across the graceful stop: %v", name, err)
	}
	for name, err := range conflicts {
		t.Errorf("%s: conflict on a name created once: %v", name, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, i := range survivors {
		apps, err := testutil.ListApps(ctx, c.Client(i), true)
		if err != nil {
			t.Fatalf("consistent list through server%d: %v", i, err)
		}
		for name := range acked {
			if _, ok := apps[name]; !ok {
				t.Errorf("server%d: acknowledged create %s is missing", i, name)
			}
		}
	}
	t.Logf("scenario 5 summary: new leader %s seen %s after SIGTERM to %s (process exited after %s); %d writes acknowledged, %d failed",
		c.nodes[newLeader].id, handover.Round(time.Millisecond), oldID, exited.Round(time.Millisecond), len(acked), len(failed))
}

// ---------------------------------------------------------------------------------------------
// Concurrent writers

type ack struct {
	index uint64
	at    time.Time
}

// writers are goroutines that create applications with unique names through pkg/api clients
// until stopped. A writer whose server cannot be reached moves on to the next target, as a
// client configured with several addresses would; the name it tried is never reused.
type writers struct {
	stop atomic.Bool
	wg   sync.WaitGroup

	mu        sync.Mutex
	attempted map[string]bool
	acked     map[string]ack
	failed    map[string]error // outcome unknown to the client
	conflicts map[string]error
}

func startWriters(t testing.TB, c *cluster, n int, targets []int, prefix string) *writers {
	t.Helper()
	w := &writers{attempted: map[string]bool{}, acked: map[string]ack{}, failed: map[string]error{}, conflicts: map[string]error{}}
	clients := map[int]*api.Client{}
	for _, i := range targets {
		clients[i] = c.Client(i)
	}
	for g := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			pos := g % len(targets)
			for seq := 0; !w.stop.Load(); seq++ {
				name := fmt.Sprintf("%s%d-%06d", prefix, g, seq)
				w.mu.Lock()
				w.attempted[name] = true
				w.mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
				app, err := clients[targets[pos]].AppCreate(ctx, api.AppCreateRequest{Name: name})
				cancel()
				w.mu.Lock()
				switch {
				case err == nil:
					w.acked[name] = ack{index: app.CreateIndex, at: time.Now()}
				case api.IsConflict(err):
					w.conflicts[name] = err
				default:
					w.failed[name] = fmt.Errorf("via server%d: %w", targets[pos], err)
				}
				w.mu.Unlock()
				if err != nil && api.ErrorCode(err) == "" {
					pos = (pos + 1) % len(targets) // unreachable: try the next server
				}
			}
		}()
	}
	t.Cleanup(w.Stop)
	return w
}

// Stop stops the writers and waits for their last requests.
func (w *writers) Stop() {
	w.stop.Store(true)
	w.wg.Wait()
}

// ackedSince counts creates acknowledged after since.
func (w *writers) ackedSince(since time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.acked {
		if a.at.After(since) {
			n++
		}
	}
	return n
}

// results returns copies of what the writers saw; call it after Stop.
func (w *writers) results() (acked map[string]ack, failed, conflicts map[string]error, attempted map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.acked), maps.Clone(w.failed), maps.Clone(w.conflicts), maps.Clone(w.attempted)
}

func without(s []int, x int) []int {
	return slices.DeleteFunc(slices.Clone(s), func(v int) bool { return v == x })
}

func firstErrors(m map[string]error, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s: %v", k, m[k]))
	}
	return strings.Join(parts, "; ")
}
