package auditlog

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Query is a selection of the trail, as GET /v1/audit/records takes it: principal, action and
// resource match equal, or by prefix when they end in *; Since is inclusive, Until exclusive.
type Query struct {
	Principal, Action, Resource string
	Since, Until                time.Time
}

// Records reads one page of the records q selects, newest first, below sequence number before
// (0: from the head): at most limit records, scanning at most maxScan. next is the value of
// before to continue from (0 when the trail is read to its anchor). It is the Go API behind
// GET /v1/audit/records, for the console; the records are the stored ones, hashes and all.
func Records(st *state.Store, q Query, before uint64, limit int) (out []audit.Record, next uint64, err error) {
	f := filter{principal: q.Principal, action: q.Action, resource: q.Resource, since: q.Since, until: q.Until}
	err = st.View(func(tx *state.Tx) error {
		scanned := 0
		for rec, err := range tx.AuditRecordsBefore(before) {
			if err != nil {
				return err
			}
			if len(out) == limit || scanned == maxScan {
				next = rec.Seq + 1
				return nil
			}
			scanned++
			if f.keep(rec) {
				out = append(out, rec)
			}
		}
		return nil
	})
	return out, next, err
}

// Head returns the trail's trim anchor and head, as GET /v1/audit/head answers them.
func Head(st *state.Store) (anchor, head audit.Anchor, err error) {
	err = st.View(func(tx *state.Tx) (err error) { anchor, head, err = tx.AuditChain(); return err })
	return anchor, head, err
}
