package deploy

import "github.com/slipwayhq/slipway/server/core/module"

// registerApps declares the apps part of the service: its commands, buckets and routes.
func (m *Module) registerApps(r *module.Registry) {
	module.Handle(r, CmdAppCreate, m.applyAppCreate)
	module.Handle(r, CmdAppDelete, m.applyAppDelete)
	module.Handle(r, CmdAppUpdate, m.applyAppUpdate)
	r.Buckets(bucketApps)
	r.Routes(m.appRoutes()...)
}
