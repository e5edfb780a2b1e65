package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auditlog"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

func init() { pageSets = append(pageSets, (*Module).auditRoutes) }

// auditPageSize is how many records one page of the trail shows.
const auditPageSize = 100

// auditRoutes is the audit trail's page: its action is the API's list of records, so a user
// whose policies allow audit:ListRecords reads it.
func (m *Module) auditRoutes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/ui/audit", Access: api.Console, Action: "audit:ListRecords", Resource: "record/*", Handle: m.auditPage},
	}
}

// auditRow is a record as the page shows it, its outcome's badge class named.
type auditRow struct {
	audit.Record
	Badge string
}

// auditData is the audit page's: the filter (as the query gave it), the records, the cursor of
// the next page, and the trail's anchor and head with the verification of what is shown.
type auditData struct {
	Principal, Action, Resource, Since, Until string
	Error                                     string
	Records                                   []auditRow
	Next                                      string // the next page's URL ("" on the last)
	Anchor, Head                              audit.Anchor
	Verified                                  string // what verification found (OK)
	Broken                                    string // or the first failure, as slipway audit verify says it
}

// auditPage shows the trail, newest first, filtered by the query (principal, action, resource,
// since, until: as GET /v1/audit/records takes them), a page at a time, with the trail's anchor
// and head and the verification of the records shown: each record's hash against its contents
// and, when the view is not filtered, each record's link to the one before it and the newest to
// the head.
func (m *Module) auditPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	q := r.URL.Query()
	d := auditData{Principal: q.Get("principal"), Action: q.Get("action"), Resource: q.Get("resource"), Since: q.Get("since"), Until: q.Get("until")}
	query := auditlog.Query{Principal: d.Principal, Action: d.Action, Resource: d.Resource}
	var before uint64
	var errs []error
	if v := q.Get("before"); v != "" {
		var err error
		if before, err = strconv.ParseUint(v, 10, 64); err != nil || before == 0 {
			errs = append(errs, errors.New("before "+strconv.Quote(v)+" is not a cursor of this trail: use the Older link"))
		}
	}
	for _, t := range []struct {
		v   string
		out *time.Time
		n   string
	}{{d.Since, &query.Since, "since"}, {d.Until, &query.Until, "until"}} {
		if t.v == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			errs = append(errs, errors.New(t.n+" is not a time: write it in RFC 3339, e.g. 2026-11-01T00:00:00Z"))
		}
		*t.out = tm
	}
	if len(errs) > 0 {
		d.Error = errors.Join(errs...).Error()
		return m.render(w, http.StatusBadRequest, "audit", frame(r, id.Token.User, "Audit trail", d))
	}
	recs, next, err := auditlog.Records(m.core.State, query, before, auditPageSize)
	if err != nil {
		return err
	}
	// The head is read after the records, so it is at or past the newest one shown.
	if d.Anchor, d.Head, err = auditlog.Head(m.core.State); err != nil {
		return err
	}
	for _, rec := range recs {
		row := auditRow{Record: rec, Badge: "bad"}
		if rec.Outcome == audit.OutcomeAllowed {
			row.Badge = "ok"
		}
		d.Records = append(d.Records, row)
	}
	if next != 0 {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("before", strconv.FormatUint(next, 10))
		d.Next = "/ui/audit?" + nq.Encode()
	}
	filtered := d.Principal != "" || d.Action != "" || d.Resource != "" || d.Since != "" || d.Until != ""
	if err := verifyShown(recs, filtered, before == 0, d.Head); err != nil {
		var ae *audit.Error
		if !errors.As(err, &ae) {
			return fault.New(fault.Internal, "verify the records shown: %v", err)
		}
		d.Broken = err.Error()
	} else {
		d.Verified = "verified"
	}
	return m.render(w, http.StatusOK, "audit", frame(r, id.Token.User, "Audit trail", d))
}

// verifyShown checks the records shown (newest first) as slipway audit verify would: each
// record's hash against its contents and, for an unfiltered view, the chain from the oldest
// shown to the newest, which on the first page must be the head (when no record came since).
func verifyShown(recs []audit.Record, filtered, first bool, head audit.Anchor) error {
	if len(recs) == 0 {
		return nil
	}
	if filtered {
		for i := len(recs) - 1; i >= 0; i-- {
			rec := recs[i]
			if err := audit.NewVerifier(audit.Anchor{Seq: rec.Seq - 1, Hash: rec.Prev}).Next(rec); err != nil {
				return err
			}
		}
		return nil
	}
	oldest := recs[len(recs)-1]
	v := audit.NewVerifier(audit.Anchor{Seq: oldest.Seq - 1, Hash: oldest.Prev})
	for i := len(recs) - 1; i >= 0; i-- {
		if err := v.Next(recs[i]); err != nil {
			return err
		}
	}
	if first && head.Seq == v.Head().Seq {
		return v.End(head) // the newest shown is the head (unless records came since)
	}
	return nil
}
