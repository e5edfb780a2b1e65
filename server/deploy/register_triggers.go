package deploy

import "github.com/slipwayhq/slipway/server/core/module"

// registerTriggers declares the groups' triggers: their commands, buckets and routes, and the
// leader task that delivers their events (the events are queued by withTriggers, which wraps the
// deployments' handlers in registerDeployments).
func (m *Module) registerTriggers(r *module.Registry) {
	module.Handle(r, cmdTriggerPut, m.applyTriggerPut)
	module.Handle(r, cmdTriggerDelete, m.applyTriggerDelete)
	module.Handle(r, cmdTriggerDelivered, m.applyTriggerDelivered)
	r.Buckets(bucketTriggers, bucketOutbox)
	r.Routes(m.triggerRoutes()...)
	r.Leader("triggers", m.deliverTriggers)
}
