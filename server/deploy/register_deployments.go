package deploy

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// registerDeployments declares the deployments part of the service: its commands, buckets and
// routes, the "deploy" kind of agent work, the leader task that fails silent hosts' work, and the
// rule that a host cannot be deleted while a deployment still runs on it.
func (m *Module) registerDeployments(r *module.Registry) {
	// withTriggers queues the groups' trigger events of what each command changed (trigger_outbox.go).
	module.Handle(r, cmdDeploymentCreate, withTriggers(m.applyDeploymentCreate, func(p DeploymentCreate) (string, string) { return p.ID, "" }))
	module.Handle(r, cmdDeploymentReport, withTriggers(m.applyDeploymentReport, func(p DeploymentReport) (string, string) { return p.DeploymentID, p.HostID }))
	module.Handle(r, cmdDeploymentFailHost, withTriggers(m.applyDeploymentFailHost, func(p DeploymentFailHost) (string, string) { return p.DeploymentID, p.HostID }))
	module.Handle(r, cmdDeploymentStop, withTriggers(m.applyDeploymentStop, func(p DeploymentStop) (string, string) { return p.DeploymentID, "" }))
	r.Buckets(bucketDeployments, bucketActiveByHost, bucketDeploymentLogs, bucketTargets, bucketOrder)
	r.Index(bucketByHost, buildByHost)
	r.Routes(m.deploymentRoutes()...)
	r.AgentWork(agentWork{m.core})
	r.Leader("silent-hosts", m.watchSilent)
	module.Before(r, command.HostDeleteCmd, refuseBusyHostDelete)
}

// deployments is the deployments' Go API.
func (m *Module) deployments() Deployments { return Deployments{core: m.core} }

// Deployments is the deployments' Go API (the console's pages read it).
func (m *Module) Deployments() Deployments { return m.deployments() }

// refuseBusyHostDelete refuses to delete a host while a deployment that has not finished runs
// on it (a host.delete's check, in apply).
func refuseBusyHostDelete(tx *state.Tx, _ *command.Command, p command.HostDelete) error {
	if ids := activeDeploymentsOf(tx, p.HostID); len(ids) > 0 {
		return fault.New(fault.Conflict, "host is in deployment %s, which has not finished: wait for it or stop it first", ids[0])
	}
	return nil
}
