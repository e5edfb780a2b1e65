package rollout

import "fmt"

// Decision is what the engine does next.
//
// Exactly one of these holds:
//   - Done: the deployment is over; Succeeded is its result and Reason explains a failure. No host
//     is Running.
//   - Failing: the deployment can no longer succeed (Reason says why). Nothing more starts; it
//     becomes Done, failed, once the Running hosts finish (or the engine stops them).
//   - otherwise it is in progress: start the hosts in Start (possibly none, while others run).
type Decision struct {
	// Start lists the IDs of Pending hosts to start now, in scheduling order.
	Start     []string `json:"start,omitempty"`
	Done      bool     `json:"done,omitempty"`
	Succeeded bool     `json:"succeeded,omitempty"`
	Failing   bool     `json:"failing,omitempty"`
	Reason    string   `json:"reason,omitempty"`
}

// tally counts hosts by where they stand (Counts, as the rules read it).
type tally struct {
	healthy          int // in service now: pending and healthy at start, or succeeded
	running          int
	succeeded        int
	failed           int // Failed, Stopped, or an unrecognised state
	pendingHealthy   int // pending, healthy at start: starting one costs a healthy host
	pendingUnhealthy int // pending, unhealthy at start: free to start
	pending          int
}

func (r Rollout) tally(states map[string]HostState) tally {
	return CountsOf(r.Hosts, states).tally()
}

// pendingOf yields the Pending hosts of r, in scheduling order.
func (r Rollout) pendingOf(states map[string]HostState) func(yield func(Host) bool) {
	return func(yield func(Host) bool) {
		for _, h := range r.Hosts {
			if s := states[h.ID]; (s == "" || s == Pending) && !yield(h) {
				return
			}
		}
	}
}

// Next decides what to do given each host's state. It is a pure function of r and states:
// states is only read, IDs that are not in r are ignored, and calling it again with the same
// inputs, on any node, returns the same Decision. Call it after every state change; the hosts in
// Start must be marked Running before the next call, or they are returned again.
//
// A Running host that was healthy at start counts as out of service. Hosts are started in order
// while healthy hosts stay at or above MinHealthy after each start (a host that was Unhealthy at
// start costs nothing) and, for OneAtATime, while fewer than MaxInFlight run. It walks every
// host; an engine that keeps Counts calls Decide instead.
func (r Rollout) Next(states map[string]HostState) Decision {
	return r.Decide(CountsOf(r.Hosts, states), r.pendingOf(states))
}

// failure returns why the deployment has failed or can no longer succeed, or "" if it still can.
// It assumes the best of every Running and pending host, so the verdict is monotone: once a
// deployment is failing, hosts finishing or being stopped never make it succeed again, and a new
// leader reaches the same verdict from the same states.
func (r Rollout) failure(t tally, healthyAtStart, hosts int) string {
	if reason := r.tooFewHealthyOf(healthyAtStart, hosts); reason != "" {
		return reason
	}
	// best: healthy hosts if every Running and pending-unhealthy host succeeds.
	best := t.healthy + t.running + t.pendingUnhealthy
	switch {
	case t.pending == 0 && t.running == 0 && t.succeeded < r.MinHealthy:
		return fmt.Sprintf("only %d hosts succeeded (%d failed or stopped), below the minimum of %d healthy hosts",
			t.succeeded, t.failed, r.MinHealthy)
	case t.pendingHealthy == 0 && best < r.MinHealthy:
		return fmt.Sprintf("healthy hosts can no longer reach the minimum of %d: %d failed or stopped, so at best %d end healthy",
			r.MinHealthy, t.failed, best)
	case t.pendingHealthy > 0 && best-1 < r.MinHealthy:
		return fmt.Sprintf("healthy hosts can no longer stay at or above the minimum of %d: %d failed or stopped, so at best %d are healthy, and taking out any of the %d healthy hosts left to deploy would leave %d",
			r.MinHealthy, t.failed, best, t.pendingHealthy, best-1)
	case t.succeeded+t.running+t.pending == 0:
		return fmt.Sprintf("no host succeeded (%d failed or stopped): at least one host must succeed", t.failed)
	}
	return ""
}
