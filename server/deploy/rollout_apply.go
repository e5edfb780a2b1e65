package deploy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// The rollout engine of group deployments runs inside apply. Every decision — which hosts start,
// when the deployment has failed, the group's state afterwards, the rollback — is a pure function
// (server/deploy/rollout) of the replicated state, computed in the apply of the command that changed
// it (a create, an agent report, a host timeout, a stop). Each decision is therefore part of a
// committed Raft entry, identical on every node, and a new leader has nothing to resume: the
// state already says where the rollout is.

func hostState(status string) rollout.HostState {
	switch status {
	case TargetWaiting:
		return rollout.Pending
	case TargetPending, TargetInProgress:
		return rollout.Running
	case TargetSucceeded:
		return rollout.Succeeded
	case TargetStopped, TargetSkipped:
		return rollout.Stopped
	}
	return rollout.Failed
}

// statesOf returns the rollout states of d's targets (d from header); it visits every target.
func statesOf(tx *state.Tx, d *Deployment) (map[string]rollout.HostState, error) {
	out := map[string]rollout.HostState{}
	return out, eachTarget(tx, d, func(tg *Target) error {
		out[tg.HostID] = hostState(tg.Status)
		return nil
	})
}

func resolveConfig(tx *state.Tx, name string) (rollout.Config, error) {
	if name == "" {
		name = rollout.Default
	}
	if c, ok := rollout.Builtin(name); ok && c.Name == name { // a short name, as released
		return c, nil
	}
	dc, ok, err := getDeploymentConfig(tx, name)
	if err != nil {
		return rollout.Config{}, err
	}
	if !ok {
		return rollout.Config{}, fault.New(fault.NotFound, "deployment config %q not found", name)
	}
	return rollout.Config{Name: dc.Name, Kind: rollout.Kind(dc.Kind), Value: dc.Value}, nil
}

// createGroupDeployment fixes a group deployment's members and plan. A plan that cannot succeed
// (too few healthy hosts) creates the deployment already failed, with the reason.
func createGroupDeployment(tx *state.Tx, index uint64, now time.Time, d *Deployment, p DeploymentCreate) error {
	g, err := getGroup(tx, p.App, p.Group)
	if err != nil {
		return err
	}
	if g.ActiveDeployment != "" {
		return fault.New(fault.Conflict, "deployment group %q is running deployment %s: wait for it or stop it (slipway deploy stop %s)", g.Name, g.ActiveDeployment, g.ActiveDeployment)
	}
	cfg, err := resolveConfig(tx, firstNonEmpty(p.Config, g.Config))
	if err != nil {
		return err
	}
	hosts, err := tx.ListHosts()
	if err != nil {
		return err
	}
	var members []rollout.Host
	for _, h := range hosts {
		if !MatchesGroup(g, h) {
			continue
		}
		m, ok := g.Members[h.ID]
		health := rollout.HealthUnknown
		rev := h.Revisions[g.ID]
		if ok {
			health, rev = groupHealth(m.Health), m.Revision
		}
		if p.RollbackOf != "" {
			// A rollback restores what was there before the failed deployment; the health that
			// deployment recorded must not stop it (with every host failed, nothing could run).
			health = rollout.HealthUnknown
		}
		members = append(members, rollout.Host{ID: h.ID, Name: h.Name, Health: health, Revision: rev})
		d.Targets[h.ID] = &Target{HostID: h.ID, HostName: h.Name, Status: TargetWaiting}
	}
	if len(members) == 0 {
		return fault.New(fault.Invalid, "deployment group %q has no members: no host matches its tags or names", g.Name)
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	d.GroupID, d.Group, d.OldRevision, d.RollbackOf = g.ID, g.Name, g.CurrentRevision, p.RollbackOf
	d.AutoRollback, d.HealthCheck = g.AutoRollback, g.HealthCheck
	r, err := rollout.Start(cfg, d.RevisionID, members)
	if err != nil && !errors.Is(err, rollout.ErrTooFewHealthy) {
		return fault.New(fault.Invalid, "%v", err)
	}
	d.Rollout = &r
	if err != nil { // recorded, failed at once
		t := now.UTC()
		d.Status, d.Message, d.EndTime = DeploymentFailed, err.Error()+tooFewHealthyAdvice(members), &t
		for _, tg := range d.Targets {
			tg.Status = TargetSkipped
		}
		_, err := createDeployment(tx, *d)
		return err
	}
	g.ActiveDeployment, g.ModifyIndex = d.ID, index
	if err := putGroup(tx, g); err != nil {
		return err
	}
	h, err := createDeployment(tx, *d)
	if err != nil {
		return err
	}
	return advance(tx, index, now, h)
}

// maxNamedHosts bounds the hosts a message names.
const maxNamedHosts = 10

// tooFewHealthyAdvice completes the reason of a deployment refused for too few healthy hosts
// (members in name order): which hosts are unhealthy and how to get past it. It is only text in
// the deployment's message: a deployment.create already in a log that was refused this way is
// refused alike when this version replays it, with this text added.
func tooFewHealthyAdvice(members []rollout.Host) string {
	var names []string
	for _, h := range members {
		if h.Health == rollout.Unhealthy {
			names = append(names, h.Name)
		}
	}
	var b strings.Builder
	if len(names) > 0 {
		shown := names[:min(len(names), maxNamedHosts)]
		fmt.Fprintf(&b, ". %d unhealthy hosts (a deployment failed or was stopped on them): %s", len(names), strings.Join(shown, ", "))
		if more := len(names) - len(shown); more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
		b.WriteString(". Fix what broke them, then deploy")
	} else {
		b.WriteString(". Deploy")
	}
	fmt.Fprintf(&b, " with a configuration of a lower minimum, such as --config %s (no minimum): the hosts it succeeds on are healthy again", rollout.AllAtOnce)
	return b.String()
}

func groupHealth(h string) rollout.Health {
	switch h {
	case "healthy":
		return rollout.Healthy
	case "unhealthy":
		return rollout.Unhealthy
	}
	return rollout.HealthUnknown
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// advance applies the rollout's next decision to d (from header): it schedules the hosts to
// start, or ends the deployment. It reads the tally and the hosts it starts, not the fleet.
func advance(tx *state.Tx, index uint64, now time.Time, d *Deployment) error {
	if d.Rollout == nil || d.EndTime != nil {
		return nil
	}
	dec := d.Rollout.Decide(*d.Tally, waiting(tx, d))
	t := now.UTC()
	for _, id := range dec.Start {
		tg, ok, err := target(tx, d, id)
		if err != nil {
			return err
		}
		if ok && tg.Status == TargetWaiting {
			tg.Scheduled = &t
			if err := setTarget(tx, d, tg, TargetPending); err != nil {
				return err
			}
		}
	}
	advanceCursor(tx, d)
	touch(tx, d)
	if dec.Done {
		return endGroupDeployment(tx, index, now, d, dec.Succeeded, dec.Reason, DeploymentFailed, nil)
	} else if dec.Failing && d.Message == "" {
		d.Message = dec.Reason
	}
	return nil
}

// endGroupDeployment records the outcome in the group and starts a rollback when one is due.
// The hosts in untouched (a stop's hosts that never started) count as not deployed, and their
// group members keep the health and revision they had. It visits every target, once per
// deployment.
func endGroupDeployment(tx *state.Tx, index uint64, now time.Time, d *Deployment, succeeded bool, reason, failStatus string, untouched map[string]bool) error {
	t := now.UTC()
	states, err := statesOf(tx, d)
	if err != nil {
		return err
	}
	for id := range untouched {
		states[id] = rollout.Pending
	}
	err = eachTarget(tx, d, func(tg *Target) error {
		if tg.Status == TargetWaiting {
			return setTarget(tx, d, tg, TargetSkipped)
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.EndTime, d.Status = &t, DeploymentSucceeded
	if !succeeded {
		d.Status, d.Message = failStatus, reason
	}
	touch(tx, d)
	g, err := getGroup(tx, d.App, d.Group)
	if err != nil {
		return nil //nolint:nilerr // the group was deleted; nothing to record
	}
	out := fullRollout(tx, d).Outcome(states, d.OldRevision)
	if g.Members == nil {
		g.Members = map[string]Member{}
	}
	for _, h := range out.Hosts {
		if untouched[h.ID] {
			continue
		}
		health := "unknown"
		switch h.Health {
		case rollout.Healthy:
			health = "healthy"
		case rollout.Unhealthy:
			health = "unhealthy"
		}
		g.Members[h.ID] = Member{Health: health, Revision: h.Revision}
	}
	g.CurrentRevision, g.ModifyIndex = out.Revision, index
	if g.ActiveDeployment == d.ID {
		g.ActiveDeployment = ""
	}
	_ = putGroup(tx, g)
	if !succeeded && d.RollbackOf == "" && d.OldRevision != "" && wantsRollback(d, failStatus) {
		rollback(tx, index, now, d)
	}
	return nil
}

func wantsRollback(d *Deployment, status string) bool {
	switch d.AutoRollback {
	case RollbackOnFailure:
		return status == DeploymentFailed
	case RollbackOnStop:
		return true
	}
	return false
}

// rollback starts a new deployment of the group's last successful revision, linked both ways to
// the failed one. Its ID derives from the failed deployment's, so it is the same on every node.
func rollback(tx *state.Tx, index uint64, now time.Time, d *Deployment) {
	if d.RolledBackBy != "" {
		return
	}
	rev, err := getRevision(tx, d.OldRevision)
	if err != nil {
		return
	}
	nd := Deployment{
		ID: d.ID + "-rollback", App: d.App, RevisionID: rev.ID, SHA256: rev.SHA256, Size: rev.Size, Format: rev.Format,
		Status: DeploymentInProgress, Targets: map[string]*Target{}, CreateTime: now, CreateIndex: index, ModifyIndex: index,
		IgnoreApplicationStopFailures: true, // the failed revision's stop scripts may be what broke
	}
	if err := createGroupDeployment(tx, index, now, &nd, DeploymentCreate{App: d.App, Group: d.Group, RollbackOf: d.ID}); err != nil {
		d.Message += "; rollback not started: " + err.Error()
		return
	}
	d.RolledBackBy = nd.ID
}

// applyDeploymentStop stops a deployment: hosts not started are skipped, running ones stopped,
// and a group deployment ends through its rollout (and rolls back when the group or the request
// says so).
//
// Schema versions: from version 2 a stop with Rollback rolls back whatever the group's
// auto-rollback setting. A version 1 entry, already in logs, applies as it did then: its
// Rollback only turned a group's "off" into "on-stop", so on an "on-failure" group it did not
// roll back. From version 2 a stop also leaves the hosts it never touched as they were: a host
// still waiting, or scheduled but silent (no lifecycle event reported), keeps its group member's
// health and revision, where version 1 marked it unhealthy (so the next deployment could be
// refused for too few healthy hosts although one host had been touched).
func (m *Module) applyDeploymentStop(tx *state.Tx, index uint64, c *command.Command, p DeploymentStop) (any, error) {
	d, err := header(tx, p.DeploymentID)
	if err != nil {
		return nil, err
	}
	if d.EndTime != nil {
		return nil, fault.New(fault.Conflict, "deployment %s already ended (%s)", d.ID, d.Status)
	}
	t := c.Time.UTC()
	var untouched map[string]bool
	if c.Version >= 2 {
		untouched = map[string]bool{}
	}
	err = eachTarget(tx, d, func(tg *Target) error {
		if untouched != nil && (tg.Status == TargetWaiting || (tg.Status == TargetPending && tg.StartTime == nil && len(tg.Events) == 0)) {
			untouched[tg.HostID] = true
		}
		switch {
		case tg.Status == TargetWaiting:
			return setTarget(tx, d, tg, TargetSkipped)
		case !tg.Finished():
			tg.Message, tg.EndTime = "stopped by the user", &t
			return setTarget(tx, d, tg, TargetStopped)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if d.Rollout != nil {
		if p.Rollback && (c.Version >= 2 || d.AutoRollback == RollbackOff) {
			d.AutoRollback = RollbackOnStop
		}
		if err := endGroupDeployment(tx, index, c.Time, d, false, "stopped by the user", DeploymentStopped, untouched); err != nil {
			return nil, err
		}
	} else {
		d.EndTime, d.Status, d.Message = &t, DeploymentStopped, "stopped by the user"
	}
	d.ModifyIndex = index
	touch(tx, d)
	return getDeployment(tx, d.ID)
}
