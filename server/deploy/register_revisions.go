package deploy

import "github.com/slipwayhq/slipway/server/core/module"

// registerRevisions declares the revisions part of the service: its commands, buckets and routes.
func (m *Module) registerRevisions(r *module.Registry) {
	module.Handle(r, CmdRevisionCreate, m.applyRevisionCreate)
	r.Buckets(bucketRevisions, bucketRevisionByApp)
	r.Routes(m.revisionRoutes()...)
}
