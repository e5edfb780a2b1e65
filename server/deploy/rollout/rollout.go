package rollout

import (
	"cmp"
	"fmt"
	"slices"
)

// Health is a host's health in its deployment group.
type Health string

// Health values.
const (
	// Healthy: the last deployment to the host by the group succeeded.
	Healthy Health = "Healthy"
	// Unhealthy: the last deployment to the host by the group failed or was stopped. An engine
	// that knows a host is down at start should report it Unhealthy.
	Unhealthy Health = "Unhealthy"
	// HealthUnknown: the group has never deployed to the host. It counts as healthy, as a new
	// CodeDeploy instance does; otherwise a new group could never be deployed to.
	HealthUnknown Health = "Unknown"
)

// inService reports whether a host with health h counts as healthy at start.
func (h Health) inService() bool { return h == Healthy || h == HealthUnknown }

func (h Health) valid() bool { return h == Healthy || h == Unhealthy || h == HealthUnknown }

// HostState is a host's progress in a deployment. Any value other than those below counts as
// Failed, so a corrupt state can only stop a rollout, never start a host twice.
type HostState string

// Host states.
const (
	// Pending: not started yet. A host missing from the states map, or with state "", is Pending.
	Pending HostState = "Pending"
	// Running: started and not finished; out of service.
	Running HostState = "Running"
	// Succeeded: the revision is installed and the host is back in service.
	Succeeded HostState = "Succeeded"
	// Failed: a lifecycle event failed or timed out.
	Failed HostState = "Failed"
	// Stopped: the host stopped reporting, or its deployment was stopped. It counts as Failed.
	Stopped HostState = "Stopped"
)

// Host is a member of the deployment group as it stands at the start of the deployment.
type Host struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Health Health `json:"health"`
	// Revision is the revision the group last deployed successfully to the host; "" if unknown.
	Revision string `json:"revision,omitempty"`
}

// Rollout is a deployment's plan, fixed at Start and persisted with the deployment. Its fields are
// exported for encoding; build it with Start, not by hand.
type Rollout struct {
	Config Config `json:"config"`
	// Target is the revision being deployed.
	Target string `json:"target"`
	// Hosts are the members at start, in scheduling order.
	Hosts []Host `json:"hosts"`
	// MinHealthy is the minimum of healthy hosts, a host count (a percentage is rounded up at
	// Start).
	MinHealthy int `json:"min_healthy"`
	// MaxInFlight caps the hosts Running at once; 0 means no cap other than MinHealthy.
	MaxInFlight int `json:"max_in_flight,omitempty"`
}

// Start plans a deployment of the target revision to hosts with cfg: it fixes the scheduling
// order and turns the configuration into a minimum of healthy hosts (and, for OneAtATime, a cap of
// one host in flight).
//
// Bad input returns an error wrapping ErrInvalidConfig or ErrInvalid and a zero Rollout. When the
// minimum is >= the hosts healthy at start, Start returns the complete Rollout together with an
// error wrapping ErrTooFewHealthy whose message gives both numbers: the engine records the
// deployment as failed at once (Next on that Rollout says the same).
func Start(cfg Config, target string, hosts []Host) (Rollout, error) {
	if err := cfg.Validate(); err != nil {
		return Rollout{}, err
	}
	if target == "" {
		return Rollout{}, fmt.Errorf("%w: target revision is required", ErrInvalid)
	}
	if len(hosts) == 0 {
		return Rollout{}, fmt.Errorf("%w: the deployment group has no hosts", ErrInvalid)
	}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if h.ID == "" {
			return Rollout{}, fmt.Errorf("%w: host %q has no ID", ErrInvalid, h.Name)
		}
		if seen[h.ID] {
			return Rollout{}, fmt.Errorf("%w: host %s is listed twice", ErrInvalid, h.ID)
		}
		seen[h.ID] = true
		if !h.Health.valid() {
			return Rollout{}, fmt.Errorf("%w: host %s: health must be %s, %s or %s, got %q", ErrInvalid, h.ID, Healthy, Unhealthy, HealthUnknown, h.Health)
		}
	}
	r := Rollout{Config: cfg, Target: target, Hosts: slices.Clone(hosts)}
	slices.SortStableFunc(r.Hosts, func(a, b Host) int {
		return cmp.Or(
			cmp.Compare(healthRank(a), healthRank(b)),
			cmp.Compare(revisionRank(a, target), revisionRank(b, target)),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.ID, b.ID),
		)
	})
	r.MinHealthy, r.MaxInFlight = cfg.limits(len(hosts), r.HealthyAtStart())
	if reason := r.tooFewHealthy(); reason != "" {
		return r, fmt.Errorf("%w: %s", ErrTooFewHealthy, reason)
	}
	return r, nil
}

// healthRank puts Unhealthy hosts first.
func healthRank(h Host) int {
	if h.Health.inService() {
		return 1
	}
	return 0
}

// revisionRank orders unknown revision, then another revision, then the target.
func revisionRank(h Host, target string) int {
	switch h.Revision {
	case "":
		return 0
	case target:
		return 2
	default:
		return 1
	}
}

// Order returns the host IDs in scheduling order.
func (r Rollout) Order() []string {
	ids := make([]string, len(r.Hosts))
	for i, h := range r.Hosts {
		ids[i] = h.ID
	}
	return ids
}

// HealthyAtStart returns how many hosts were in service (Healthy or HealthUnknown) at start.
func (r Rollout) HealthyAtStart() int {
	n := 0
	for _, h := range r.Hosts {
		if h.Health.inService() {
			n++
		}
	}
	return n
}

// tooFewHealthy returns why the deployment fails at once, or "".
//
// A minimum of 0 never fails at once, even with no healthy host: nothing has to stay in service,
// and "at least one host must succeed" still holds. Read literally, the rule (0 >= 0) would make
// a group whose hosts all failed their last deployment impossible to deploy to again, rollback
// included; CodeDeploy lets such a group be redeployed.
func (r Rollout) tooFewHealthy() string { return r.tooFewHealthyOf(r.HealthyAtStart(), len(r.Hosts)) }

// tooFewHealthyOf is tooFewHealthy given the hosts healthy at start and all hosts.
func (r Rollout) tooFewHealthyOf(healthy, hosts int) string {
	if r.MinHealthy < healthy || r.MinHealthy == 0 {
		return ""
	}
	return fmt.Sprintf("the minimum of %d healthy hosts (%s) is not less than the %d healthy hosts at start (of %d): no host can be taken out of service",
		r.MinHealthy, r.Config.describe(), healthy, hosts)
}

// describe names the configuration for messages.
func (c Config) describe() string {
	return fmt.Sprintf("%s: %s %d", c.Name, c.Kind, c.Value)
}
