package pipeline

import "github.com/slipwayhq/slipway/server/core/module"

// registerApply declares the commands' handlers (the engine). Owned by the engine's author.
func (m *Module) registerApply(r *module.Registry) {}
