package rollout

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// scenario is one deployment, simulated in waves, and what it must come to.
type scenario struct {
	name        string
	cfg         Config
	hosts       []Host
	fail        map[string]HostState // by host ID
	wantSuccess bool
	wantReason  []string // substrings of the failure reason
	wantBatches [][]string
	wantPending int // hosts never started
}

func (sc scenario) run(t *testing.T) run {
	t.Helper()
	r := mustStart(t, sc.cfg, sc.hosts)
	got := simulate(t, r, sc.fail)
	if got.final.Succeeded != sc.wantSuccess {
		t.Fatalf("succeeded = %v (%q), want %v; batches %v", got.final.Succeeded, got.final.Reason, sc.wantSuccess, got.batches)
	}
	for _, s := range sc.wantReason {
		if !strings.Contains(got.final.Reason, s) {
			t.Errorf("reason %q does not contain %q", got.final.Reason, s)
		}
	}
	if sc.wantBatches != nil && !reflect.DeepEqual(got.batches, sc.wantBatches) {
		t.Errorf("batches %v, want %v", got.batches, sc.wantBatches)
	}
	if pending := r.tally(got.states).pending; pending != sc.wantPending {
		t.Errorf("%d hosts never started, want %d", pending, sc.wantPending)
	}
	return got
}

func runScenarios(t *testing.T, tests []scenario) {
	t.Helper()
	for _, sc := range tests {
		t.Run(sc.name, func(t *testing.T) { sc.run(t) })
	}
}

func builtin(name string) Config {
	c, ok := Builtin(name)
	if !ok {
		panic(name)
	}
	return c
}

func hostCount(n int) Config    { return Config{Name: "custom", Kind: HostCount, Value: n} }
func fleetPercent(p int) Config { return Config{Name: "custom", Kind: FleetPercent, Value: p} }

// Rule: if the minimum is >= the number of healthy hosts at start, the deployment fails at once
// with a message that says so.
func TestRuleImmediateFailureWhenMinimumNotBelowHealthy(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		hosts      []Host
		wantReason []string
	}{
		{"HOST_COUNT equal to the fleet", hostCount(10), fleet(10), []string{"minimum of 10 healthy hosts", "10 healthy hosts at start (of 10)"}},
		{"HOST_COUNT above the fleet", hostCount(11), fleet(10), []string{"minimum of 11", "10 healthy hosts at start"}},
		{"FLEET_PERCENT 99 rounds up to the whole fleet", fleetPercent(99), fleet(10), []string{"minimum of 10", "FLEET_PERCENT 99", "10 healthy hosts at start"}},
		{"FLEET_PERCENT 91 of 10 rounds up to 10", fleetPercent(91), fleet(10), []string{"minimum of 10"}},
		{"HOST_COUNT equal to the healthy hosts", hostCount(8), unhealthy(fleet(10), "h01", "h02"), []string{"minimum of 8", "8 healthy hosts at start (of 10)"}},
		{"HalfAtATime with half the fleet unhealthy", builtin(HalfAtATime), unhealthy(fleet(10), names(1, 5)...), []string{"minimum of 5", "5 healthy hosts at start (of 10)"}},
		{"HalfAtATime on 1 host: half of 1 is 0 at a time", builtin(HalfAtATime), fleet(1), []string{"minimum of 1", "1 healthy hosts at start (of 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Start(tt.cfg, "v2", tt.hosts)
			if !errors.Is(err, ErrTooFewHealthy) {
				t.Fatalf("Start error %v, want ErrTooFewHealthy", err)
			}
			for _, s := range append(tt.wantReason, "not less than") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			d := r.Next(nil)
			if !d.Done || d.Succeeded || len(d.Start) > 0 || !strings.Contains(err.Error(), d.Reason) {
				t.Fatalf("Next on the failed rollout = %+v; want done, failed, nothing started, reason %q", d, err)
			}
		})
	}
	t.Run("a minimum of 0 with no healthy host deploys", func(t *testing.T) {
		for _, cfg := range []Config{builtin(OneAtATime), builtin(AllAtOnce), hostCount(0)} {
			r, err := Start(cfg, "v2", unhealthy(fleet(3), names(1, 3)...))
			if err != nil {
				t.Fatalf("%s: %v", cfg.Name, err)
			}
			if d := r.Next(nil); d.Done || len(d.Start) == 0 {
				t.Fatalf("%s on an all-unhealthy group: %+v, want hosts started", cfg.Name, d)
			}
		}
	})
	t.Run("one below the healthy hosts deploys", func(t *testing.T) {
		scenario{cfg: hostCount(9), hosts: fleet(10), wantSuccess: true}.run(t)
	})
}

// Rule: never take hosts out of service if that would drop healthy hosts below the minimum; when
// healthy hosts can no longer stay at or above it, stop scheduling and fail. (simulate checks the
// budget on every decision of every test.)
func TestRuleMinimumHealthyHosts(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "custom minimum broken by failures stops and fails with the reason",
			cfg:  hostCount(8), hosts: fleet(10), fail: results("h01", "h02"),
			wantReason:  []string{"can no longer stay at or above the minimum of 8", "2 failed or stopped", "would leave 7"},
			wantBatches: [][]string{{"h01", "h02"}},
			wantPending: 8,
		},
		{
			name: "custom percent minimum broken mid-way",
			cfg:  fleetPercent(70), hosts: fleet(10), fail: results("h02", "h04", "h05"),
			wantReason:  []string{"minimum of 7", "3 failed or stopped"},
			wantBatches: [][]string{{"h01", "h02", "h03"}, {"h04", "h05"}},
			wantPending: 5,
		},
		{
			name: "failures within the budget are tolerated",
			cfg:  hostCount(6), hosts: fleet(9), fail: results("h01", "h05"),
			wantSuccess: true,
			wantBatches: [][]string{{"h01", "h02", "h03"}, {"h04", "h05"}, {"h06"}, {"h07"}, {"h08"}, {"h09"}},
		},
		{
			name: "HalfAtATime 9 hosts: 5 failing in the first batches fails",
			cfg:  builtin(HalfAtATime), hosts: fleet(9), fail: results(names(1, 4)...),
			wantReason:  []string{"minimum of 5"},
			wantBatches: [][]string{{"h01", "h02", "h03", "h04"}},
			wantPending: 5,
		},
	})

	t.Run("running hosts are out of service", func(t *testing.T) {
		r := mustStart(t, hostCount(6), fleet(9))
		states := map[string]HostState{id("h01"): Running, id("h02"): Running}
		d := r.Next(states)
		if !slices.Equal(d.Start, []string{id("h03")}) {
			t.Fatalf("with 2 of 3 budget running, Start = %v; want only h03", d.Start)
		}
		states[id("h03")] = Running
		if d := r.Next(states); len(d.Start) != 0 || d.Done || d.Failing {
			t.Fatalf("with the budget used: %+v; want to wait", d)
		}
	})

	t.Run("failing waits for running hosts, then fails", func(t *testing.T) {
		r := mustStart(t, builtin(OneAtATime), fleet(10))
		// h05's agent died while pending: the engine marks it Stopped.
		states := map[string]HostState{id("h01"): Running, id("h05"): Stopped}
		d := r.Next(states)
		if !d.Failing || d.Done || len(d.Start) > 0 || !strings.Contains(d.Reason, "minimum of 9: 1 failed or stopped, so at best 9 are healthy") {
			t.Fatalf("Next = %+v; want failing, nothing started, reason with the numbers", d)
		}
		states[id("h01")] = Succeeded
		if d := r.Next(states); !d.Done || d.Succeeded || !strings.Contains(d.Reason, "minimum of 9") {
			t.Fatalf("after the running host finished: %+v; want done, failed", d)
		}
	})
}

// Rule: at least one host must succeed, even with a minimum of 0.
func TestRuleAtLeastOneSuccess(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "AllAtOnce all failing fails", cfg: builtin(AllAtOnce), hosts: fleet(10), fail: results(names(1, 10)...), wantReason: []string{"no host succeeded (10 failed or stopped)", "at least one host must succeed"}},
		{name: "AllAtOnce 1 host failing fails", cfg: builtin(AllAtOnce), hosts: fleet(1), fail: results("h01"), wantReason: []string{"no host succeeded"}},
		{name: "AllAtOnce 2 hosts both failing fails", cfg: builtin(AllAtOnce), hosts: fleet(2), fail: results("h01", "h02"), wantReason: []string{"no host succeeded"}},
		{name: "AllAtOnce one success of 10 succeeds", cfg: builtin(AllAtOnce), hosts: fleet(10), fail: results(names(2, 10)...), wantSuccess: true},
		{name: "AllAtOnce one success of 2 succeeds", cfg: builtin(AllAtOnce), hosts: fleet(2), fail: results("h01"), wantSuccess: true},
		{name: "HOST_COUNT 0 all failing fails", cfg: hostCount(0), hosts: fleet(9), fail: results(names(1, 9)...), wantReason: []string{"no host succeeded"}},
		{name: "FLEET_PERCENT 0 all failing fails", cfg: fleetPercent(0), hosts: fleet(3), fail: results(names(1, 3)...), wantReason: []string{"no host succeeded"}},
		{name: "OneAtATime single host failing fails", cfg: builtin(OneAtATime), hosts: fleet(1), fail: results("h01"), wantReason: []string{"no host succeeded"}},
		{name: "OneAtATime single host succeeding succeeds", cfg: builtin(OneAtATime), hosts: fleet(1), wantSuccess: true},
	})
}

// Rule: a stopped host counts as failed.
func TestRuleStoppedCountsAsFailed(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		n           int
		failing     []string
		wantSuccess bool
	}{
		{"OneAtATime first host", builtin(OneAtATime), 10, []string{"h01"}, false},
		{"OneAtATime last host", builtin(OneAtATime), 10, []string{"h10"}, true},
		{"HalfAtATime 2 of 10", builtin(HalfAtATime), 10, []string{"h01", "h02"}, true},
		{"HalfAtATime 6 of 10", builtin(HalfAtATime), 10, names(1, 6), false},
		{"AllAtOnce all hosts", builtin(AllAtOnce), 9, names(1, 9), false},
		{"HOST_COUNT 6 of 9, 4 hosts", hostCount(6), 9, names(1, 4), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustStart(t, tt.cfg, fleet(tt.n))
			failed := simulate(t, r, results(tt.failing...))
			stopped := map[string]HostState{}
			for _, n := range tt.failing {
				stopped[id(n)] = Stopped
			}
			got := simulate(t, r, stopped)
			if !reflect.DeepEqual(got.final, failed.final) {
				t.Fatalf("stopped: %+v; failed: %+v; want the same", got.final, failed.final)
			}
			if !reflect.DeepEqual(got.batches, failed.batches) || got.final.Succeeded != tt.wantSuccess {
				t.Fatalf("stopped: batches %v success %v; failed: batches %v; want success %v", got.batches, got.final.Succeeded, failed.batches, tt.wantSuccess)
			}
		})
	}
	t.Run("an unrecognised state counts as failed", func(t *testing.T) {
		r := mustStart(t, builtin(OneAtATime), fleet(3))
		d := r.Next(map[string]HostState{id("h01"): "running"})
		want := r.Next(map[string]HostState{id("h01"): Failed})
		if !reflect.DeepEqual(d, want) || !d.Done || d.Succeeded {
			t.Fatalf("Next = %+v, want %+v (failed)", d, want)
		}
	})
}

// Rule: last-host exception. With OneAtATime, and any config whose arithmetic leaves the last host
// as the only remaining budget, the deployment still succeeds if only the last host fails.
func TestRuleLastHostException(t *testing.T) {
	one := builtin(OneAtATime)
	runScenarios(t, []scenario{
		{name: "OneAtATime 2 hosts, last fails: succeeds", cfg: one, hosts: fleet(2), fail: results("h02"), wantSuccess: true},
		{name: "OneAtATime 9 hosts, last fails: succeeds", cfg: one, hosts: fleet(9), fail: results("h09"), wantSuccess: true},
		{name: "OneAtATime 10 hosts, last fails: succeeds", cfg: one, hosts: fleet(10), fail: results("h10"), wantSuccess: true},
		{name: "OneAtATime 10 hosts, last is stopped: succeeds", cfg: one, hosts: fleet(10), fail: map[string]HostState{id("h10"): Stopped}, wantSuccess: true},
		{
			name: "OneAtATime 2 hosts, first fails: fails at once", cfg: one, hosts: fleet(2), fail: results("h01"),
			wantReason: []string{"minimum of 1"}, wantBatches: [][]string{{"h01"}}, wantPending: 1,
		},
		{
			name: "OneAtATime 10 hosts, second to last fails: fails, last untouched", cfg: one, hosts: fleet(10), fail: results("h09"),
			wantReason: []string{"minimum of 9", "1 failed or stopped"}, wantPending: 1,
		},
		{
			name: "OneAtATime 10 hosts, first fails: fails at once", cfg: one, hosts: fleet(10), fail: results("h01"),
			wantReason: []string{"minimum of 9"}, wantBatches: [][]string{{"h01"}}, wantPending: 9,
		},
		{name: "OneAtATime 10 hosts, last two fail: fails", cfg: one, hosts: fleet(10), fail: results("h09", "h10"), wantReason: []string{"minimum of 9"}, wantPending: 1},
		{name: "OneAtATime 1 host: no exception, the only host must succeed", cfg: one, hosts: fleet(1), fail: results("h01"), wantReason: []string{"no host succeeded"}},
		{
			name: "OneAtATime with an unhealthy host: the exception still applies to the last host", cfg: one,
			hosts: unhealthy(fleet(10), "h07"), fail: results("h10"), wantSuccess: true,
		},
		{name: "HOST_COUNT n-1, last fails: succeeds", cfg: hostCount(9), hosts: fleet(10), fail: results("h10"), wantSuccess: true},
		{name: "HOST_COUNT n-1, another fails: fails", cfg: hostCount(9), hosts: fleet(10), fail: results("h03"), wantReason: []string{"minimum of 9"}, wantPending: 7},
		{name: "FLEET_PERCENT 90 of 10, last fails: succeeds", cfg: fleetPercent(90), hosts: fleet(10), fail: results("h10"), wantSuccess: true},
		{name: "HalfAtATime 2 hosts, last fails: succeeds", cfg: builtin(HalfAtATime), hosts: fleet(2), fail: results("h02"), wantSuccess: true},
		{name: "HalfAtATime 9 hosts, last fails: succeeds", cfg: builtin(HalfAtATime), hosts: fleet(9), fail: results("h09"), wantSuccess: true},
		{
			name: "HOST_COUNT 6 of 9: the whole last batch is the remaining budget", cfg: hostCount(6), hosts: fleet(9),
			fail: results("h07", "h08", "h09"), wantSuccess: true,
		},
	})
}

// Example: HalfAtATime with 2 failing hosts of 10 succeeds, wherever they are.
func TestExampleHalfAtATimeTwoFailuresOfTen(t *testing.T) {
	half := builtin(HalfAtATime)
	runScenarios(t, []scenario{
		{name: "first two", cfg: half, hosts: fleet(10), fail: results("h01", "h02"), wantSuccess: true,
			wantBatches: [][]string{names(1, 5), names(6, 8), names(9, 10)}},
		{name: "last two", cfg: half, hosts: fleet(10), fail: results("h09", "h10"), wantSuccess: true,
			wantBatches: [][]string{names(1, 5), names(6, 10)}},
		{name: "one per batch", cfg: half, hosts: fleet(10), fail: results("h01", "h10"), wantSuccess: true},
		{name: "stopped and failed", cfg: half, hosts: fleet(10), fail: map[string]HostState{id("h04"): Stopped, id("h07"): Failed}, wantSuccess: true},
		{name: "exactly half succeed", cfg: half, hosts: fleet(10), fail: results(names(6, 10)...), wantSuccess: true},
		{name: "half fail in the first batch: fails", cfg: half, hosts: fleet(10), fail: results(names(1, 5)...), wantReason: []string{"minimum of 5", "5 failed or stopped"}, wantPending: 5},
	})
}

// Rule: order. Unhealthy hosts first, then unknown revision, then another revision, then hosts
// already on the target; ties by name, then ID.
func TestRuleSchedulingOrder(t *testing.T) {
	hosts := []Host{
		{ID: "a", Name: "target-1", Health: Healthy, Revision: "v2"},
		{ID: "b", Name: "old-2", Health: Healthy, Revision: "v0"},
		{ID: "c", Name: "old-1", Health: HealthUnknown, Revision: "v1"},
		{ID: "d", Name: "unknown-1", Health: Healthy},
		{ID: "e", Name: "sick-target", Health: Unhealthy, Revision: "v2"},
		{ID: "f", Name: "sick-unknown", Health: Unhealthy},
		{ID: "g", Name: "unknown-0", Health: HealthUnknown},
		{ID: "i", Name: "twin", Health: Healthy, Revision: "v2"},
		{ID: "h", Name: "twin", Health: Healthy, Revision: "v2"},
		{ID: "j", Name: "sick-old", Health: Unhealthy, Revision: "v1"},
	}
	want := []string{"f", "j", "e", "g", "d", "c", "b", "a", "h", "i"}
	cfg := builtin(OneAtATime)
	for i := range 5 {
		shuffled := slices.Clone(hosts)
		// A fixed rotation and reversal: the order must not depend on the input order.
		slices.Reverse(shuffled[i:])
		r, err := Start(cfg, "v2", shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Order(); !slices.Equal(got, want) {
			t.Fatalf("order %v, want %v", got, want)
		}
	}

	t.Run("OneAtATime starts the unhealthy host first, one host at a time", func(t *testing.T) {
		got := scenario{cfg: cfg, hosts: unhealthy(fleet(4), "h03"), wantSuccess: true,
			wantBatches: [][]string{{"h03"}, {"h01"}, {"h02"}, {"h04"}}}
		got.run(t)
	})
	t.Run("unhealthy hosts do not use the budget", func(t *testing.T) {
		// HalfAtATime on 10 with 2 unhealthy: min 5, so 2 unhealthy + 3 healthy go first.
		scenario{cfg: builtin(HalfAtATime), hosts: unhealthy(fleet(10), "h09", "h10"), wantSuccess: true,
			wantBatches: [][]string{{"h09", "h10", "h01", "h02", "h03"}, names(4, 8)}}.run(t)
	})
	t.Run("an unhealthy host failing again does not break the minimum", func(t *testing.T) {
		scenario{cfg: builtin(OneAtATime), hosts: unhealthy(fleet(5), "h05"), fail: results("h05"), wantSuccess: true,
			wantBatches: [][]string{{"h05"}, {"h01"}, {"h02"}, {"h03"}, {"h04"}}}.run(t)
	})
}

// Next is a pure function of its inputs: a new leader that decodes the rollout and the states
// resumes with the same decisions (simulate also checks this on every step).
func TestNextIsPure(t *testing.T) {
	r := mustStart(t, builtin(HalfAtATime), fleet(10))
	states := map[string]HostState{id("h01"): Succeeded, id("h02"): Failed, id("h03"): Running, "id-gone": Running}
	before := maps.Clone(states)
	d1, d2 := r.Next(states), r.Next(states)
	if !reflect.DeepEqual(d1, d2) || !maps.Equal(states, before) {
		t.Fatalf("Next not pure: %+v vs %+v, states %v", d1, d2, states)
	}
	// The unknown host is ignored: 8 healthy (7 pending + 1 succeeded), 1 running; 3 may start.
	if want := []string{id("h04"), id("h05"), id("h06")}; !slices.Equal(d1.Start, want) {
		t.Fatalf("Start %v, want %v", d1.Start, want)
	}
	if d := r.Next(nil); len(d.Start) != 5 {
		t.Fatalf("a nil states map is all pending: %+v", d)
	}
}

func TestStartRejectsBadInput(t *testing.T) {
	one := builtin(OneAtATime)
	dup := fleet(2)
	dup[1].ID = dup[0].ID
	noID := fleet(2)
	noID[0].ID = ""
	badHealth := fleet(2)
	badHealth[1].Health = ""
	tests := []struct {
		name   string
		cfg    Config
		target string
		hosts  []Host
		want   error
		msg    string
	}{
		{"invalid config", hostCount(-1), "v2", fleet(2), ErrInvalidConfig, "min-healthy-hosts"},
		{"no target", one, "", fleet(2), ErrInvalid, "target revision is required"},
		{"no hosts", one, "v2", nil, ErrInvalid, "no hosts"},
		{"duplicate host", one, "v2", dup, ErrInvalid, "listed twice"},
		{"host without ID", one, "v2", noID, ErrInvalid, "has no ID"},
		{"unknown health", one, "v2", badHealth, ErrInvalid, "health must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(tt.cfg, tt.target, tt.hosts)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Start = %v; want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
	t.Run("Start does not change its input", func(t *testing.T) {
		hosts := unhealthy(fleet(3), "h03")
		before := slices.Clone(hosts)
		mustStart(t, one, hosts)
		if !slices.Equal(hosts, before) {
			t.Fatalf("Start reordered its input")
		}
	})
}

// Rule: a stopped host counts as failed, also when the engine stops a host before its turn (its
// agent died): healthy hosts may dip below the minimum while others run; nothing healthy starts
// until they are back, and the deployment fails only if they cannot come back.
func TestRuleHostStoppedBeforeItsTurn(t *testing.T) {
	r := mustStart(t, hostCount(7), fleet(10))
	states := map[string]HostState{id("h01"): Running, id("h02"): Running, id("h03"): Running, id("h04"): Stopped}
	if d := r.Next(states); d.Failing || d.Done || len(d.Start) != 0 {
		t.Fatalf("6 healthy of minimum 7 with 3 running: %+v; want to wait", d)
	}
	states[id("h01")], states[id("h02")] = Succeeded, Succeeded
	if d := r.Next(states); !slices.Equal(d.Start, []string{id("h05")}) {
		t.Fatalf("back to 8 healthy: %+v; want h05 to start", d)
	}
	states[id("h05")], states[id("h03")] = Running, Failed
	if d := r.Next(states); d.Failing || d.Done || len(d.Start) != 0 {
		t.Fatalf("7 healthy, 1 running: %+v; want to wait", d)
	}
	states[id("h05")] = Failed
	if d := r.Next(states); !d.Done || d.Succeeded || !strings.Contains(d.Reason, "minimum of 7: 3 failed or stopped, so at best 7 are healthy") {
		t.Fatalf("7 healthy, 3 failed, 5 healthy hosts left: %+v; want failed", d)
	}
}
