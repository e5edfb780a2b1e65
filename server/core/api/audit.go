package api

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
)

// Auditor takes the audit records the edge makes outside a command (Config.Audit): a denied
// request (Record, outcome denied with its error code), and each authenticated request as
// activity (Seen: the first of each principal per UTC day becomes a record, so the active-users
// report counts principals that only read). Both must return at once; server/core/auditlog's
// Writer queues and proposes them. The records of authorized writes are not the edge's: the FSM
// appends them from the command's caller (command.WithCaller on the write's context).
type Auditor interface {
	Record(r audit.Record)
	Seen(p audit.Principal, action, resource, source, requestID string, t time.Time)
}

// NopAuditor drops every record: what a server built without an Auditor (Config.Audit nil,
// tests and embedding) behaves as.
type NopAuditor struct{}

// Record implements Auditor.
func (NopAuditor) Record(audit.Record) {}

// Seen implements Auditor.
func (NopAuditor) Seen(audit.Principal, string, string, string, string, time.Time) {}
