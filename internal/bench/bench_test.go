package bench

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/simagent"
)

// TestRolloutSmallFleet runs `slipway bench rollout --output json` end to end with a tiny fleet on a real
// 3-node cluster and checks that every deployment succeeded and every figure was measured. It
// asserts no timing.
func TestRolloutSmallFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster and simulated agents")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := execute(ctx, true, "bench", "rollout", "--hosts", "5", "--configs", "AllAtOnce,HalfAtATime", "--servers", "3", "--transport", "plain,tls")
	if res.err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", res.err, res.stdout, res.stderr)
	}
	var rep Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, res.stdout)
	}
	if rep.Servers != 3 || rep.Machine.CPUs < 1 || len(rep.Runs) != 4 {
		t.Fatalf("report %+v", rep)
	}
	for i, r := range rep.Runs {
		want, transport := []string{"AllAtOnce", "HalfAtATime"}[i%2], []string{"plain", "tls"}[i/2]
		if r.Config != want || r.Transport != transport || r.Hosts != 5 || r.Status != "succeeded" || r.Deployment == "" {
			t.Errorf("run %d: %+v", i, r)
		}
		if r.WallSeconds <= 0 || r.CreateCommitMs <= 0 || r.RaftEntries == 0 || r.RaftEntriesPerSec <= 0 || r.RSSPeakMiB <= 0 || r.RSSBeforeMiB <= 0 {
			t.Errorf("%s: a figure is missing: %+v", want, r)
		}
		if r.AllAppliedSeconds < r.WallSeconds || r.SettleSeconds <= 0 {
			t.Errorf("%s: all applied after %.3fs, wall %.3fs, settle %.3fs", want, r.AllAppliedSeconds, r.WallSeconds, r.SettleSeconds)
		}
		if r.Dispatch.Hosts != 5 || r.Dispatch.P99Ms < r.Dispatch.P50Ms || r.Dispatch.MaxMs < r.Dispatch.P99Ms {
			t.Errorf("%s: dispatch %+v", want, r.Dispatch)
		}
	}
	for _, i := range []int{0, 2} {
		// HalfAtATime to 5 hosts keeps 3 in service: 2 start with the create, 3 as others succeed.
		if h := rep.Runs[i+1]; h.FirstWave.Hosts != 2 || h.LaterWaves.Hosts != 3 {
			t.Errorf("HalfAtATime waves: first %+v, later %+v", h.FirstWave, h.LaterWaves)
		}
		if a := rep.Runs[i]; a.FirstWave.Hosts != 5 || a.LaterWaves.Hosts != 0 {
			t.Errorf("AllAtOnce waves: first %+v, later %+v", a.FirstWave, a.LaterWaves)
		}
	}
	if !strings.Contains(res.stderr, "cluster up") {
		t.Errorf("no progress on stderr:\n%s", res.stderr)
	}
}

func TestRolloutTable(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	rep := &Report{Servers: 3, Machine: Machine{CPUs: 2}, Runs: []Run{{Transport: "plain", Config: "HalfAtATime", Hosts: 10, Status: "succeeded",
		WallSeconds: 1.5, Dispatch: Latency{Hosts: 10, P50Ms: 2, P99Ms: 9},
		FirstWave: Latency{Hosts: 5}, LaterWaves: Latency{Hosts: 5, P50Ms: 3, P99Ms: 9}},
		{Transport: "tls", Config: "HalfAtATime", Hosts: 10, Status: "succeeded", WallSeconds: 1.65, Dispatch: Latency{Hosts: 10, P50Ms: 2.2, P99Ms: 9}}}}
	if err := printReport(&testPrinter{w: &b}, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"CONFIG", "DISPATCH P99", "HalfAtATime", "1.50s", "9.0ms", "5 as others succeeded", "on the leader's sessions",
		"TRANSPORT", "TLS/plain, HalfAtATime to 10: wall 1.10, dispatch p50 1.10, p99 1.00"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestDispatchLatencies(t *testing.T) {
	t.Parallel()
	base := time.Unix(1000, 0)
	at := func(msec int) time.Time { return base.Add(time.Duration(msec) * time.Millisecond) }
	tl := &applyTimeline{idx: []uint64{10, 11, 12}, when: []time.Time{at(0), at(100), at(200)}}
	recs := []simagent.Record{
		{Host: "a", RunAt: at(5), Runs: 1, EndAckAt: at(103), Server: "http://leader"},   // freed at the entry applied at 100
		{Host: "b", RunAt: at(7), Runs: 2, EndAckAt: at(250), Server: "http://follower"}, // freed at 200
		{Host: "c", RunAt: at(110), Runs: 1, EndAckAt: at(300)},                          // started by a's success: 10 ms
		{Host: "d", RunAt: at(230), Runs: 1},                                             // started by b's success: 30 ms
	}
	df := dispatchLatencies(recs, map[string]bool{"a": true, "b": true}, at(0), "http://leader", tl)
	first, later, all, dups := df.first, df.later, df.all, df.dups
	if first.Hosts != 2 || first.P50Ms != 5 || first.MaxMs != 7 {
		t.Errorf("first %+v", first)
	}
	if df.firstOnLeader.Hosts != 1 || df.firstOnLeader.MaxMs != 5 || df.firstOnFollowers.Hosts != 1 || df.firstOnFollowers.MaxMs != 7 {
		t.Errorf("by session: leader %+v, followers %+v", df.firstOnLeader, df.firstOnFollowers)
	}
	if later.Hosts != 2 || later.P50Ms != 10 || later.MaxMs != 30 {
		t.Errorf("later %+v", later)
	}
	if all.Hosts != 4 || all.MaxMs != 30 || dups != 1 {
		t.Errorf("all %+v dups %d", all, dups)
	}
}
