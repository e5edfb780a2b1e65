package deploy

import (
	"context"
	"time"

	"github.com/slipwayhq/slipway/server/core/state"
)

// watchSilent is a leader task (ctx ends when leadership is lost): it fails the in-flight work
// of hosts not heard from for the host timeout, and of hosts that did not start their next
// lifecycle event within the event start timeout (both from the agent hub's configuration).
// Both bounds count from the later of the host's last report and the start of this leadership,
// so a new leader gives every host a full bound (and agents time to find it after an outage).
func (m *Module) watchSilent(ctx context.Context) {
	hostTimeout, eventStartTimeout := m.core.Agents.Timeouts()
	log := agentWork{m.core}.log()
	since := time.Now()
	t := time.NewTicker(max(hostTimeout/10, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		type silent struct{ host, dep, name, reason string }
		var dead []silent
		_ = m.core.State.View(func(tx *state.Tx) error {
			deps := map[string]*Deployment{}
			activeTargets(tx, func(hostID, depID string) {
				host, err := tx.GetHost(hostID)
				if err != nil {
					return
				}
				last := host.LastSeen
				if since.After(last) {
					last = since
				}
				if now.Sub(last) > hostTimeout {
					dead = append(dead, silent{hostID, depID, host.Name, "host " + host.Name + " was not heard from for " +
						hostTimeout.String() + " (agent stopped, host down or network cut)"})
					return
				}
				d, ok := deps[depID]
				if !ok {
					dd, err := readHeader(tx, depID)
					if err != nil {
						return
					}
					d, deps[depID] = &dd, &dd
				}
				if tg, ok := readTarget(tx, *d, hostID); ok {
					idle, ok := tg.Idle()
					if since.After(idle) {
						idle = since // a new leader gives every host a full bound
					}
					if ok && now.Sub(idle) > eventStartTimeout {
						dead = append(dead, silent{hostID, depID, host.Name, "host " + host.Name + " did not start its next lifecycle event within " +
							eventStartTimeout.String() + " (is its agent busy with another deployment?)"})
					}
				}
			})
			return nil
		})
		for _, d := range dead {
			c, _ := cmdDeploymentFailHost.New("", now, DeploymentFailHost{DeploymentID: d.dep, HostID: d.host, Reason: d.reason})
			if _, err := m.core.Cluster.Apply(ctx, c); err != nil {
				log.Warn("could not fail a silent host's deployment", "host", d.name, "deployment", d.dep, "error", err)
			} else {
				log.Warn("host timed out; its deployment failed", "host", d.name, "deployment", d.dep)
			}
		}
	}
}
