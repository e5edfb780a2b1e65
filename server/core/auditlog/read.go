package auditlog

import (
	"iter"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/state"
)

// pageSize is how many records one read transaction takes when a walk spans many (an export, a
// report): a walk of the whole trail never holds one transaction open for long, so it never
// keeps the state file from growing past pages it pins or a restore waiting.
const pageSize = 1000

// walk yields the stored records from sequence number from up to and including to (0: to the
// end), oldest first, reading pageSize records per read transaction. A record trimmed between
// two pages is simply missing from the walk (a verifier names it dropped).
func walk(st *state.Store, from, to uint64) iter.Seq2[audit.Record, error] {
	return func(yield func(audit.Record, error) bool) {
		next := from
		for {
			var page []audit.Record
			err := st.View(func(tx *state.Tx) error {
				for r, err := range tx.AuditRecords(next) {
					if err != nil {
						return err
					}
					if to != 0 && r.Seq > to {
						break
					}
					page = append(page, r)
					if len(page) == pageSize {
						break
					}
				}
				return nil
			})
			if err != nil {
				yield(audit.Record{}, err)
				return
			}
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
			next = page[len(page)-1].Seq + 1
		}
	}
}
