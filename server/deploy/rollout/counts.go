package rollout

import "iter"

// Counts tallies a deployment's hosts by where they stand. An engine that keeps it up to date
// as hosts change (Move) decides with Decide at a cost that does not grow with the fleet; Next
// computes it from a states map. Its JSON is kept in the state beside the deployment: the
// field names are never renamed.
type Counts struct {
	// Hosts is the number of hosts of the deployment, HealthyAtStart those in service at start
	// (both fixed at start).
	Hosts          int `json:"hosts"`
	HealthyAtStart int `json:"healthy_at_start"`
	// PendingHealthy and PendingUnhealthy are the Pending hosts that were, or were not, in
	// service at start.
	PendingHealthy   int `json:"pending_healthy"`
	PendingUnhealthy int `json:"pending_unhealthy"`
	Running          int `json:"running"`
	Succeeded        int `json:"succeeded"`
	// Failed counts Failed, Stopped and unrecognised states.
	Failed int `json:"failed"`
}

// CountsOf tallies hosts (the members at start) given their states, as Next does.
func CountsOf(hosts []Host, states map[string]HostState) Counts {
	c := Counts{Hosts: len(hosts)}
	for _, h := range hosts {
		if h.Health.inService() {
			c.HealthyAtStart++
		}
		c.add(h.Health, states[h.ID], 1)
	}
	return c
}

// Move records that a host whose health at start was h went from state from to state to. A
// host entering the deployment is moved from "" (Pending) after Hosts and HealthyAtStart
// count it (Add).
func (c *Counts) Move(h Health, from, to HostState) {
	c.add(h, from, -1)
	c.add(h, to, 1)
}

// Add counts a new host of health h in state s.
func (c *Counts) Add(h Health, s HostState) {
	c.Hosts++
	if h.inService() {
		c.HealthyAtStart++
	}
	c.add(h, s, 1)
}

func (c *Counts) add(h Health, s HostState, n int) {
	switch s {
	case "", Pending:
		if h.inService() {
			c.PendingHealthy += n
		} else {
			c.PendingUnhealthy += n
		}
	case Running:
		c.Running += n
	case Succeeded:
		c.Succeeded += n
	default:
		c.Failed += n
	}
}

func (c Counts) tally() tally {
	return tally{
		healthy: c.PendingHealthy + c.Succeeded, running: c.Running, succeeded: c.Succeeded, failed: c.Failed,
		pendingHealthy: c.PendingHealthy, pendingUnhealthy: c.PendingUnhealthy, pending: c.PendingHealthy + c.PendingUnhealthy,
	}
}

// Decide is Next for an engine that keeps Counts: c tallies the hosts and pending yields the
// Pending hosts in scheduling order (it may stop being read early: Decide reads only as many
// as it starts, plus one). It returns what Next returns for the same hosts and states, and is
// as pure: its inputs are only read.
func (r Rollout) Decide(c Counts, pending iter.Seq[Host]) Decision {
	t := c.tally()
	if reason := r.failure(t, c.HealthyAtStart, c.Hosts); reason != "" {
		if t.running > 0 {
			return Decision{Failing: true, Reason: reason}
		}
		return Decision{Done: true, Reason: reason}
	}
	if t.pending == 0 && t.running == 0 {
		return Decision{Done: true, Succeeded: true}
	}
	var start []string
	healthy, inFlight := t.healthy, t.running
	for h := range pending {
		if r.MaxInFlight > 0 && inFlight >= r.MaxInFlight {
			break
		}
		if h.Health.inService() {
			if healthy-1 < r.MinHealthy {
				break
			}
			healthy--
		}
		inFlight++
		start = append(start, h.ID)
	}
	return Decision{Start: start}
}
