package build

import (
	"bytes"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// LabelsMatch reports whether host h may run a build whose environment has labels: each
// label's key and value must match, key "os" the host's OS, "arch" its architecture, any other
// key the host's tag of that name.
func LabelsMatch(labels map[string]string, h state.Host) bool {
	for k, v := range labels {
		var have string
		var ok bool
		switch k {
		case "os":
			have, ok = h.OS, true
		case "arch":
			have, ok = h.Arch, true
		default:
			have, ok = h.Tags[k]
		}
		if !ok || have != v {
			return false
		}
	}
	return true
}

// CanRun reports why host h cannot run build b ("" when it can): the capabilities its agent
// advertised (agentproto.KindBuild, and agentproto.CapabilityDocker for a build with an image)
// and the build's labels. Whether the host is free and connected is not its concern.
func CanRun(b Build, h state.Host) string {
	switch {
	case !slices.Contains(h.Capabilities, agentproto.KindBuild):
		return "its agent does not take builds"
	case b.Environment.Image != "" && !slices.Contains(h.Capabilities, agentproto.CapabilityDocker):
		return "the build needs Docker (environment image " + state.Shorten(b.Environment.Image) + ") and its agent has none"
	case !LabelsMatch(b.Environment.Labels, h):
		return "its OS, architecture or tags do not match the build's labels"
	}
	return ""
}

func byHostPrefix(hostID string) []byte { return append([]byte(hostID), 0) }

func byHostKey(hostID, id string) []byte { return append(byHostPrefix(hostID), id...) }

// buildsOnHost lists the builds in progress on a host (build/by-host; one, as an agent runs
// one build at a time, but read as a list).
func buildsOnHost(tx *state.Tx, hostID string) []string {
	var out []string
	prefix := byHostPrefix(hostID)
	c := tx.Bucket(bucketByHost).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// applyAssign moves a queued build IN_PROGRESS on a host: QUEUED ends SUCCEEDED, PROVISIONING
// begins, the build leaves the queue and counts as running, and build/by-host names it under the
// host. Everything is checked again here (the scheduler read an older state); a refusal is a
// conflict and changes nothing: the scheduler tries again.
func applyAssign(tx *state.Tx, index uint64, c *command.Command, p AssignPayload) (any, error) {
	b, err := mustBuild(tx, p.ID)
	if err != nil {
		return nil, err
	}
	if b.Status != pub.BuildQueued {
		return nil, fault.New(fault.Conflict, "build %s is %s, not queued", b.ID, b.Status)
	}
	if b.Waiting {
		return nil, fault.New(fault.Conflict, "build %s waits for builds of its batch", b.ID)
	}
	h, ok, err := tx.LookupHost(p.Host)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.New(fault.NotFound, "host %s not found", state.Shorten(p.Host))
	}
	if why := CanRun(b, h); why != "" {
		return nil, fault.New(fault.Conflict, "host %s cannot run build %s: %s", h.Name, b.ID, why)
	}
	if on := buildsOnHost(tx, h.ID); len(on) > 0 {
		return nil, fault.New(fault.Conflict, "host %s is running build %s already", h.Name, on[0])
	}
	pr, err := mustProject(tx, b.Project)
	if err != nil {
		return nil, err
	}
	cnt, err := getCounters(tx, b.Project)
	if err != nil {
		return nil, err
	}
	if pr.ConcurrentBuildLimit > 0 && cnt.Running >= pr.ConcurrentBuildLimit {
		return nil, fault.New(fault.Conflict, "build project %s runs %d builds, its concurrent build limit", b.Project, cnt.Running)
	}
	if err := dequeue(tx, b); err != nil {
		return nil, err
	}
	if cnt, err = getCounters(tx, b.Project); err != nil {
		return nil, err
	}
	cnt.Running++
	if err := putCounters(tx, b.Project, cnt); err != nil {
		return nil, err
	}
	at := c.Time
	if n := len(b.Phases); n > 0 && b.Phases[n-1].End == nil {
		b.Phases[n-1].Status, b.Phases[n-1].End = pub.BuildSucceeded, &at
	}
	b.Phases = append(b.Phases, Phase{Name: PhaseProvisioning, Start: at})
	b.Status, b.Agent, b.ModifyIndex = pub.BuildInProgress, h.ID, index
	if err := tx.Bucket(bucketByHost).Put(byHostKey(h.ID, b.ID), nil); err != nil {
		return nil, err
	}
	return b, state.Put(tx, bucketBuilds, b.ID, b)
}

// endRunning takes a build that ended while in progress off its host and out of the running
// count, and records it as finished (its log to assemble, its commit status to set).
func endRunning(tx *state.Tx, b Build) error {
	if err := tx.Bucket(bucketByHost).Delete(byHostKey(b.Agent, b.ID)); err != nil {
		return err
	}
	cnt, err := getCounters(tx, b.Project)
	if err != nil {
		return err
	}
	if cnt.Running > 0 {
		cnt.Running--
	}
	if err := putCounters(tx, b.Project, cnt); err != nil {
		return err
	}
	return finished(tx, b)
}

// runStart is when the build was assigned (its PROVISIONING phase began); its timeout counts
// from there. A build never assigned answers its start.
func (b Build) runStart() time.Time {
	for _, p := range b.Phases {
		if p.Name == PhaseProvisioning {
			return p.Start
		}
	}
	return b.Start
}

// RunningDeadline is when a build in progress has run past its timeout and the grace its agent
// has to report the end (TimeoutGrace): the leader then ends it TIMED_OUT.
func (b Build) RunningDeadline() time.Time {
	return b.runStart().Add(time.Duration(b.TimeoutMinutes)*time.Minute + TimeoutGrace)
}

// TimeoutGrace is how long past its timeout a build's agent has to report its end (its own
// timeout, then uploads) before the leader ends the build TIMED_OUT.
const TimeoutGrace = 5 * time.Minute
