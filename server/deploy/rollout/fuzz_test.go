package rollout

import (
	"errors"
	"fmt"
	"testing"
)

// splitmix is a tiny deterministic generator, so one fuzz seed describes a whole fleet and run.
type splitmix uint64

func (s *splitmix) intn(n int) int {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return int((z ^ (z >> 31)) % uint64(n))
}

// fuzzConfig picks a built-in or a custom configuration; value is folded into the valid range.
func fuzzConfig(kind, value uint8, n int) Config {
	switch kind % 5 {
	case 0:
		return builtin(OneAtATime)
	case 1:
		return builtin(HalfAtATime)
	case 2:
		return builtin(AllAtOnce)
	case 3:
		return hostCount(int(value) % (n + 2))
	default:
		return fleetPercent(int(value) % 100)
	}
}

// FuzzNext drives random fleets, configurations and failures to completion, with hosts finishing
// in random order and the engine sometimes stopping a host before its turn, and checks the
// invariants: never more hosts out of service than the minimum allows, no more than MaxInFlight
// running, deterministic decisions, a monotone verdict, termination, at least one success (and
// the minimum) when Succeeded, and success when nothing fails.
func FuzzNext(f *testing.F) {
	f.Add(uint8(10), uint8(1), uint8(0), uint8(20), uint64(1))
	f.Add(uint8(9), uint8(3), uint8(6), uint8(30), uint64(2))
	f.Fuzz(func(t *testing.T, size, kind, value, failPct uint8, seed uint64) {
		rng := splitmix(seed)
		n := int(size)%40 + 1
		cfg := fuzzConfig(kind, value, n)
		hosts := make([]Host, n)
		fate := map[string]HostState{}
		for i := range hosts {
			h := Host{ID: fmt.Sprintf("id%02d", i), Name: fmt.Sprintf("h%02d", rng.intn(n)), Health: Healthy}
			switch rng.intn(8) {
			case 0:
				h.Health = Unhealthy
			case 1:
				h.Health = HealthUnknown
			}
			h.Revision = []string{"", "v1", "v2"}[rng.intn(3)]
			hosts[i] = h
			if rng.intn(100) < int(failPct)%101 {
				fate[h.ID] = []HostState{Failed, Stopped}[rng.intn(2)]
			}
		}
		engineStops := failPct%2 == 1 // the engine may stop pending hosts whose agents died

		r, err := Start(cfg, "v2", hosts)
		if err != nil && !errors.Is(err, ErrTooFewHealthy) {
			t.Fatalf("Start(%+v): %v", cfg, err)
		}
		immediate := err != nil
		if immediate != (r.MinHealthy > 0 && r.MinHealthy >= r.HealthyAtStart()) {
			t.Fatalf("immediate failure %v with minimum %d, %d healthy", immediate, r.MinHealthy, r.HealthyAtStart())
		}

		states := map[string]HostState{}
		stopped := 0
		var prev, d Decision
		for step := 0; ; step++ {
			if step > 3*n+3 {
				t.Fatalf("no result after %d decisions: %v", step, states)
			}
			d = r.Next(states)
			checkDecision(t, r, states, d, prev)
			prev = d
			if immediate && (step > 0 || !d.Done || d.Succeeded) {
				t.Fatalf("immediate failure: decision %d is %+v", step, d)
			}
			if d.Done {
				break
			}
			for _, id := range d.Start {
				states[id] = Running
			}
			if tl := r.tally(states); stopped == 0 && tl.healthy < r.MinHealthy {
				t.Fatalf("%d healthy hosts, below the minimum of %d, with nothing stopped by the engine", tl.healthy, r.MinHealthy)
			}
			// Some running hosts finish (at least one).
			var running []string
			for _, h := range r.Hosts {
				if states[h.ID] == Running {
					running = append(running, h.ID)
				}
			}
			first := -1
			if len(running) > 0 {
				first = rng.intn(len(running))
			}
			for i, id := range running {
				if i == first || rng.intn(2) == 0 {
					states[id] = Succeeded
					if res, ok := fate[id]; ok {
						states[id] = res
					}
				}
			}
			if engineStops && rng.intn(6) == 0 {
				var pending []Host
				for h := range r.pendingOf(states) {
					pending = append(pending, h)
				}
				if len(pending) > 0 {
					states[pending[rng.intn(len(pending))].ID] = Stopped
					stopped++
				}
			}
		}
		if !immediate && len(fate) == 0 && stopped == 0 && !d.Succeeded {
			t.Fatalf("nothing failed, yet the deployment failed: %q", d.Reason)
		}
		o := r.Outcome(states, "v1")
		if o.Succeeded != d.Succeeded || (o.Revision == "v2") != d.Succeeded {
			t.Fatalf("Outcome %+v disagrees with the final decision %+v", o, d)
		}
	})
}
