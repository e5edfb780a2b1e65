package rollout

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
)

// fleet returns n Healthy hosts named h01..hNN (ID "id-" + name) on revision v1; tests deploy v2.
func fleet(n int) []Host {
	hosts := make([]Host, n)
	for i := range hosts {
		name := fmt.Sprintf("h%02d", i+1)
		hosts[i] = Host{ID: "id-" + name, Name: name, Health: Healthy, Revision: "v1"}
	}
	return hosts
}

// unhealthy marks the named hosts Unhealthy.
func unhealthy(hosts []Host, names ...string) []Host {
	for i := range hosts {
		if slices.Contains(names, hosts[i].Name) {
			hosts[i].Health = Unhealthy
		}
	}
	return hosts
}

// names returns host names h<from>..h<to>.
func names(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprintf("h%02d", i))
	}
	return s
}

func id(name string) string { return "id-" + name }

// results maps each named host to Failed (the hosts the simulation makes fail).
func results(failed ...string) map[string]HostState {
	m := map[string]HostState{}
	for _, n := range failed {
		m[id(n)] = Failed
	}
	return m
}

func mustStart(t *testing.T, cfg Config, hosts []Host) Rollout {
	t.Helper()
	r, err := Start(cfg, "v2", hosts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return r
}

// run is a simulated deployment.
type run struct {
	final   Decision
	batches [][]string // host names started by each Next call that started any
	states  map[string]HostState
}

func (r run) batchSizes() []int {
	sizes := make([]int, len(r.batches))
	for i, b := range r.batches {
		sizes[i] = len(b)
	}
	return sizes
}

// simulate drives r.Next to completion in waves: it starts what Next says, then every Running host
// finishes with its result in fail (Failed or Stopped), Succeeded if absent. Every decision is
// checked against the package's invariants.
func simulate(t *testing.T, r Rollout, fail map[string]HostState) run {
	t.Helper()
	var out run
	out.states = map[string]HostState{}
	names := map[string]string{}
	for _, h := range r.Hosts {
		names[h.ID] = h.Name
	}
	var prev Decision
	for step := 0; ; step++ {
		if step > 2*len(r.Hosts)+2 {
			t.Fatalf("rollout did not finish after %d decisions; states %v", step, out.states)
		}
		d := r.Next(out.states)
		checkDecision(t, r, out.states, d, prev)
		prev = d
		if d.Done {
			out.final = d
			return out
		}
		if len(d.Start) > 0 {
			batch := make([]string, len(d.Start))
			for i, id := range d.Start {
				batch[i] = names[id]
			}
			out.batches = append(out.batches, batch)
		}
		for _, id := range d.Start {
			out.states[id] = Running
		}
		for id, s := range out.states {
			if s == Running {
				out.states[id] = Succeeded
				if res, ok := fail[id]; ok {
					out.states[id] = res
				}
			}
		}
	}
}

// checkDecision checks the invariants every decision must keep; prev is the decision before it
// in the same rollout (zero for the first).
func checkDecision(t *testing.T, r Rollout, states map[string]HostState, d, prev Decision) {
	t.Helper()
	// Deterministic: same inputs, a copy of them, or the rollout after an encoding round trip (a
	// new leader) give the same decision, and states is left alone.
	before := maps.Clone(states)
	if again := r.Next(maps.Clone(states)); !reflect.DeepEqual(again, d) {
		t.Fatalf("Next is not deterministic: %+v then %+v", d, again)
	}
	if !maps.Equal(before, states) {
		t.Fatalf("Next changed its input")
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var decoded Rollout
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if again := decoded.Next(states); !reflect.DeepEqual(again, d) {
		t.Fatalf("Next after an encoding round trip: %+v, want %+v", again, d)
	}

	tl := r.tally(states)
	switch {
	case d.Done:
		if tl.running > 0 {
			t.Fatalf("Done with %d hosts running", tl.running)
		}
		if len(d.Start) > 0 || d.Failing {
			t.Fatalf("Done decision also starts hosts or is failing: %+v", d)
		}
		if d.Succeeded {
			if d.Reason != "" {
				t.Fatalf("success with a reason: %q", d.Reason)
			}
			if tl.pending > 0 {
				t.Fatalf("success with %d hosts not deployed", tl.pending)
			}
			if tl.succeeded < 1 || tl.succeeded < r.MinHealthy {
				t.Fatalf("success with %d hosts succeeded, minimum %d", tl.succeeded, r.MinHealthy)
			}
		} else if d.Reason == "" {
			t.Fatalf("failure without a reason")
		}
	case d.Failing:
		if len(d.Start) > 0 || d.Succeeded || d.Reason == "" || tl.running == 0 {
			t.Fatalf("bad failing decision %+v with %d running", d, tl.running)
		}
	default:
		if prev.Failing {
			t.Fatalf("a failing rollout went back to in progress: %+v", d)
		}
		if d.Succeeded || d.Reason != "" {
			t.Fatalf("in-progress decision with a result: %+v", d)
		}
		if len(d.Start) == 0 && tl.running == 0 {
			t.Fatalf("stuck: nothing running and nothing to start; states %v", states)
		}
	}
	if prev.Failing && !d.Failing && (!d.Done || d.Succeeded) {
		t.Fatalf("a failing rollout ended %+v", d)
	}

	// Starts are pending hosts, in scheduling order, and keep the budget.
	pos := map[string]int{}
	for i, h := range r.Hosts {
		pos[h.ID] = i
	}
	healthy, inFlight, last := tl.healthy, tl.running, -1
	for _, id := range d.Start {
		i, ok := pos[id]
		if !ok {
			t.Fatalf("start of unknown host %s", id)
		}
		if s := states[id]; s != "" && s != Pending {
			t.Fatalf("start of host %s in state %s", id, s)
		}
		if i <= last {
			t.Fatalf("starts out of order: %v", d.Start)
		}
		last = i
		// Taking a healthy host out of service must leave the minimum; a host that was
		// unhealthy at start is not in service and costs nothing.
		if r.Hosts[i].Health.inService() {
			healthy--
			if healthy < r.MinHealthy {
				t.Fatalf("starting %s (of %v) leaves %d healthy hosts, below the minimum of %d", id, d.Start, healthy, r.MinHealthy)
			}
		}
		inFlight++
	}
	if len(d.Start) > 0 && r.MaxInFlight > 0 && inFlight > r.MaxInFlight {
		t.Fatalf("starting %v puts %d hosts in flight, more than %d", d.Start, inFlight, r.MaxInFlight)
	}
}
