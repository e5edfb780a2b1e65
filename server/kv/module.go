// Package kv is the cluster's key/value settings store, small like Consul's KV or etcd: keys are
// paths ("builds/cache/max-size"), values are bytes of at most 64 KiB, every write can be
// conditional on the key's modify index (check-and-set), and the store holds at most 10,000
// keys. Builds, pipelines and the console keep their settings here. It plugs into the core
// through one registration (Module) and offers its Go API (Entries); see DESIGN.md.
package kv

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
)

// commandRange is the block of command numbers the store owns.
var commandRange = command.Range{First: 1000, Last: 1099}

// Module is the key/value store's registration.
type Module struct {
	core *module.Core
}

// New returns the key/value store service.
func New() *Module { return &Module{} }

// Name implements module.Module.
func (*Module) Name() string { return "kv" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	r.Commands(commandRange)
	module.Handle(r, cmdPut, applyPut)
	module.Handle(r, cmdDelete, applyDelete)
	r.Buckets(bucketEntries, bucketMeta)
	r.Routes(m.routes()...)
}

// Entries is the store's Go API over the module's core.
func (m *Module) Entries() *Entries { return &Entries{core: m.core} }
