// Package secrets is the cluster's secrets store, in the manner of AWS Secrets Manager: named
// values ("prod/db/password") of at most 64 KiB, sealed with the cluster keyring (AES-256-GCM
// under the active data key, keyring.Ring.Seal) by the server that receives them, before they
// are proposed, so no plaintext enters the Raft log, a snapshot or the state. Metadata is read by
// DescribeSecret and ListSecrets; values only through GetSecretValue, which a policy must allow
// explicitly and which the audit trail records. Builds will read their secrets through the same
// Go API (Service.Value) under their project's principal. See DESIGN.md.
package secrets

import (
	"hash/maphash"
	"sync"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
)

// commandRange is the block of command numbers the store owns.
var commandRange = command.Range{First: 1600, Last: 1699}

// Module is the secrets store's registration.
type Module struct {
	core *module.Core
	// puts serialises this server's puts of one name (striped by a hash of it), so that writers
	// of one secret on one server do not make each other seal again (Service.Put); writers on
	// several servers still may, and retry.
	puts [64]sync.Mutex
	seed maphash.Seed
}

// New returns the secrets store service.
func New() *Module { return &Module{seed: maphash.MakeSeed()} }

// putLock is the lock of a name's puts on this server.
func (m *Module) putLock(name string) *sync.Mutex {
	return &m.puts[maphash.String(m.seed, name)%uint64(len(m.puts))]
}

// Name implements module.Module.
func (*Module) Name() string { return "secrets" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	r.Commands(commandRange)
	r.Actions("secretsmanager")
	module.Handle(r, cmdPut, applyPut)
	module.Handle(r, cmdDelete, applyDelete)
	module.Handle(r, cmdReseal, applyReseal)
	r.Buckets(bucketSecrets, bucketMeta)
	r.SecretEvents("secrets")
	r.Routes(m.routes()...)
	r.Leader("reseal", m.resealLoop)
}

// Service is the store's Go API over the module's core.
func (m *Module) Service() *Service { return &Service{m: m} }
