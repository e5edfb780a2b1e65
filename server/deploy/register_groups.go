package deploy

import "github.com/slipwayhq/slipway/server/core/module"

// registerGroups declares the deployment groups and configurations part of the service: their
// commands, buckets and routes, and the names the hosts API shows for groups' revisions.
func (m *Module) registerGroups(r *module.Registry) {
	module.Handle(r, CmdGroupPut, m.applyGroupPut)
	module.Handle(r, CmdGroupDelete, m.applyGroupDelete)
	module.Handle(r, CmdConfigCreate, m.applyConfigCreate)
	module.Handle(r, CmdConfigDelete, m.applyConfigDelete)
	r.Buckets(bucketGroups, bucketConfigs)
	r.Routes(m.groupRoutes()...)
	r.Routes(m.configRoutes()...)
	r.RevisionNames(revisionNames)
}
