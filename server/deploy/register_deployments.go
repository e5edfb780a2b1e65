package deploy

import "github.com/slipwayhq/slipway/server/core/module"

// registerDeployments declares the deployments part of the service: its commands, buckets and routes.
func (m *Module) registerDeployments(r *module.Registry) {}
