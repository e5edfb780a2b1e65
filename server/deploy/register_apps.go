package deploy

import "github.com/slipwayhq/slipway/server/core/module"

// registerApps declares the apps part of the service: its commands, buckets and routes.
func (m *Module) registerApps(r *module.Registry) {}
