package fsm

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// auditCommand appends the audit record of a command proposed for a caller (command.Caller):
// who, what, on which resource, from where, and how it ended (allowed, or failed with the
// result's error code), with the detail the handler's value gives (audit.Detailer; "" for
// none). Its time is the command's; nothing else decides its bytes.
func auditCommand(tx *state.Tx, c *command.Command, res command.Result, detail string) error {
	cl := c.Caller
	r := audit.Record{
		Time:      c.Time,
		Principal: audit.Principal{Kind: audit.Kind(cl.Kind), ID: cl.ID, Name: cl.Name},
		Action:    cl.Action, Resource: cl.Resource, Source: cl.Source, RequestID: cl.RequestID,
		Outcome: audit.OutcomeAllowed, Detail: detail,
	}
	if res.Code != "" {
		r.Outcome, r.ErrorCode = audit.OutcomeFailed, res.Code
	}
	_, err := tx.AppendAudit(r)
	return err
}

// applyAuditAppend appends records made outside a command (denied requests, activity) in order;
// a record without a time takes the command's.
func applyAuditAppend(tx *state.Tx, _ uint64, c *command.Command, p command.AuditAppend) (any, error) {
	if len(p.Records) > command.MaxAuditAppend {
		return nil, fault.New(fault.Invalid, "audit.append carries %d records; at most %d are allowed per command", len(p.Records), command.MaxAuditAppend)
	}
	for _, e := range p.Records {
		t := c.Time
		if e.Time != 0 {
			t = time.Unix(0, e.Time)
		}
		r := audit.Record{
			Time:      t,
			Principal: audit.Principal{Kind: audit.Kind(e.Kind), ID: e.ID, Name: e.Name},
			Action:    e.Action, Resource: e.Resource, Source: e.Source, RequestID: e.RequestID,
			Outcome: audit.Outcome(e.Outcome), ErrorCode: e.ErrorCode, Detail: e.Detail,
		}
		if _, err := tx.AppendAudit(r); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// AuditTrimmed is the result of audit.trim.
type AuditTrimmed struct {
	Trimmed int `json:"trimmed"`
}

// applyAuditTrim trims the records before the cutoff the command carries (never a clock), at
// most its limit, keeping the anchor so the rest still verifies.
func applyAuditTrim(tx *state.Tx, _ uint64, _ *command.Command, p command.AuditTrim) (any, error) {
	limit := p.Limit
	if limit <= 0 || limit > command.MaxAuditTrim {
		limit = command.MaxAuditTrim
	}
	n, err := tx.TrimAudit(time.Unix(0, p.Cutoff), limit)
	if err != nil {
		return nil, err
	}
	return AuditTrimmed{Trimmed: n}, nil
}
