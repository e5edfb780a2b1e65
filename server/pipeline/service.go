package pipeline

import "github.com/slipwayhq/slipway/server/core/module"

// registerService declares the routes and the leader's tasks. Owned by the service's author.
func (m *Module) registerService(r *module.Registry) {}
