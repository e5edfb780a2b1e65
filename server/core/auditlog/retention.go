package auditlog

import (
	"context"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
)

// retentionInterval is how often the leader trims the trail.
const retentionInterval = time.Hour

// retain is the leader task that applies the retention: at start and hourly it proposes
// audit.trim with the cutoff now (the leader's clock) minus the retention, again at once while a
// trim took a full MaxAuditTrim records (more are due), so each apply does bounded work.
func (m *Module) retain(ctx context.Context) {
	for {
		for ctx.Err() == nil {
			n, err := m.TrimOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					m.core.Log.Warn("audit retention: trim failed; retrying at the next interval", "error", err)
				}
				break
			}
			if n < command.MaxAuditTrim {
				break
			}
		}
		t := time.NewTimer(retentionInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// TrimOnce proposes one audit.trim for the records older than the retention and returns how many
// it trimmed (the retention task's step; tests call it to trim now).
func (m *Module) TrimOnce(ctx context.Context) (int, error) {
	if m.retention <= 0 {
		return 0, nil // every record is kept
	}
	now := m.core.Now()
	p := command.AuditTrim{Cutoff: now.Add(-m.retention).UnixNano(), Limit: command.MaxAuditTrim}
	res, err := command.Propose(ctx, m.core.Cluster, command.AuditTrimCmd, now, p)
	if err != nil {
		return 0, err
	}
	v, err := command.Data[fsm.AuditTrimmed](res)
	return v.Trimmed, err
}
