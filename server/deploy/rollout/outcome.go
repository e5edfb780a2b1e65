package rollout

import "fmt"

// Outcome is what a finished deployment leaves behind in its group.
type Outcome struct {
	Succeeded bool   `json:"succeeded"`
	Reason    string `json:"reason,omitempty"`
	// Revision is the group's current revision afterwards: the target after a success, the
	// group's old revision after a failure.
	Revision string `json:"revision"`
	// Hosts are the members after the deployment, in scheduling order.
	Hosts []Host `json:"hosts"`
}

// Outcome computes the group's state after the deployment, given each host's final state and
// the group's current revision before it. Call it once, when Next says Done or when the deployment
// is stopped; anything short of Done and Succeeded is a failure, and a host still Running is taken
// as Stopped.
//
// After a success, succeeded hosts are Healthy on the target revision (Current) and failed hosts
// are Unhealthy. After a failure, attempted hosts take their own result the same way, untouched
// (Pending) hosts keep their health and revision, and the group keeps oldRevision. A failed host
// keeps the revision it had: Revision is the last revision deployed successfully to it.
func (r Rollout) Outcome(states map[string]HostState, oldRevision string) Outcome {
	d := r.Next(states)
	o := Outcome{Succeeded: d.Done && d.Succeeded, Reason: d.Reason, Revision: oldRevision}
	if o.Succeeded {
		o.Revision = r.Target
	} else if o.Reason == "" {
		t := r.tally(states)
		o.Reason = fmt.Sprintf("stopped with %d of %d hosts not deployed (%d succeeded, %d running, %d failed or stopped)",
			t.pending, len(r.Hosts), t.succeeded, t.running, t.failed)
	}
	o.Hosts = make([]Host, len(r.Hosts))
	for i, h := range r.Hosts {
		switch states[h.ID] {
		case "", Pending:
		case Succeeded:
			h.Health, h.Revision = Healthy, r.Target
		default: // Failed, Stopped, Running (stopped mid-way), anything else
			h.Health = Unhealthy
		}
		o.Hosts[i] = h
	}
	return o
}
