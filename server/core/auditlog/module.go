package auditlog

import (
	"context"
	"log/slog"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
)

// Module is the audit trail's registration: its routes (/v1/audit/...), the Writer's loop on
// every server and the retention task on the leader. Its commands (audit.append, audit.trim)
// are the core's, applied by the FSM's own table; the records of authorized writes are
// appended by the FSM from each command's Caller.
type Module struct {
	core      *module.Core
	retention time.Duration
	writer    *Writer
}

// New returns the audit module. retention is how long records are kept (0: every record).
func New(retention time.Duration) *Module { return &Module{retention: retention} }

// Name implements module.Module: the service part of the routes' actions ("audit:ListRecords").
func (*Module) Name() string { return "audit" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	log := core.Log
	if log == nil {
		log = slog.Default()
	}
	m.writer = NewWriter(clusterProposer{core}, func() time.Time { return core.Now() }, log.With("component", "audit"))
	r.Routes(m.routes()...)
	r.Background("writer", func(ctx context.Context) { m.writer.Run(ctx) })
	if m.retention > 0 {
		r.Leader("retention", m.retain)
	}
}

// Writer is the module's Writer, for the API edge (api.Config.Audit): denied requests and
// activity are recorded through it.
func (m *Module) Writer() *Writer { return m.writer }

// clusterProposer proposes through the node's Raft member, which the server puts in the core
// after registration.
type clusterProposer struct{ core *module.Core }

func (p clusterProposer) Apply(ctx context.Context, c *command.Command) (command.Result, error) {
	return p.core.Cluster.Apply(ctx, c)
}
