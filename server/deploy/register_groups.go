package deploy

import "github.com/slipwayhq/slipway/server/core/module"

// registerGroups declares the groups part of the service: its commands, buckets and routes.
func (m *Module) registerGroups(r *module.Registry) {}
