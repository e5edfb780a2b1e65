package auditlog

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// maxScan bounds the records one list page reads while looking for matches: a filter that
// matches little answers a short page (or none) with a cursor to go on from, rather than reading
// the whole trail in one transaction.
const maxScan = 10_000

// routes are the module's endpoints: any token whose policies allow the audit service's reads
// (ReadOnlyAccess does) may call them.
func (m *Module) routes() []api.Route {
	k := func() *api.Kit { return m.core.HTTP }
	return []api.Route{
		{Method: "GET", Pattern: "/v1/audit/records", Access: api.AnyToken, Action: "audit:ListRecords", Resource: "record/*",
			Handle: func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
				return api.List(k(), m.list, func(items []pub.AuditRecord, next string) pub.AuditRecordList {
					return pub.AuditRecordList{Records: items, Next: next}
				})(w, r, id)
			}},
		{Method: "GET", Pattern: "/v1/audit/export", Access: api.AnyToken, Action: "audit:ExportRecords", Resource: "record/*", Handle: m.export},
		{Method: "GET", Pattern: "/v1/audit/head", Access: api.AnyToken, Action: "audit:GetTrailHead", Resource: "trail",
			Handle: func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
				return api.Get(k(), m.head)(w, r, id)
			}},
		{Method: "GET", Pattern: "/v1/audit/active-users", Access: api.AnyToken, Action: "audit:GetActiveUsersReport", Resource: "report/active-users",
			Handle: func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
				return api.Get(k(), m.activeUsers)(w, r, id)
			}},
	}
}

// filter is a list's selection (pub.AuditFilter as the query gives it).
type filter struct {
	principal, action, resource string
	since, until                time.Time
}

func filterOf(r *http.Request) (filter, error) {
	q := r.URL.Query()
	f := filter{principal: q.Get("principal"), action: q.Get("action"), resource: q.Get("resource")}
	var err error
	if f.since, err = timeParam(q.Get("since"), "since"); err != nil {
		return f, err
	}
	f.until, err = timeParam(q.Get("until"), "until")
	return f, err
}

func timeParam(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fault.New(fault.Invalid, "%s %s is not a time: write it in RFC 3339, e.g. 2026-11-01T00:00:00Z", name, state.Shorten(v))
	}
	return t, nil
}

// match reports whether value matches pattern: equal, or pattern ends in * and value starts
// with the rest. An empty pattern matches everything.
func match(pattern, value string) bool {
	if pattern == "" {
		return true
	}
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(value, p)
	}
	return pattern == value
}

func (f filter) keep(r audit.Record) bool {
	return (f.principal == "" || match(f.principal, r.Principal.Name) || match(f.principal, r.Principal.ID)) &&
		match(f.action, r.Action) && match(f.resource, r.Resource) &&
		(f.since.IsZero() || !r.Time.Before(f.since)) && (f.until.IsZero() || r.Time.Before(f.until))
}

// list answers one page of the records the filter selects, newest first; the cursor is the
// sequence number to continue below.
func (m *Module) list(r *http.Request, p api.Page) ([]pub.AuditRecord, string, error) {
	f, err := filterOf(r)
	if err != nil {
		return nil, "", err
	}
	var before uint64
	if p.After != "" {
		if before, err = strconv.ParseUint(p.After, 10, 64); err != nil || before == 0 {
			return nil, "", fault.New(fault.Invalid, "next %s is not a cursor of this list: pass the next value you were given", state.Shorten(p.After))
		}
	}
	recs, n, err := Records(m.core.State, Query{Principal: f.principal, Action: f.action, Resource: f.resource, Since: f.since, Until: f.until}, before, p.Limit)
	out := make([]pub.AuditRecord, 0, len(recs))
	for _, rec := range recs {
		out = append(out, View(rec))
	}
	next := ""
	if n != 0 {
		next = strconv.FormatUint(n, 10)
	}
	return out, next, err
}

// head answers the trail's trim anchor and head.
func (m *Module) head(*http.Request) (pub.AuditHead, error) {
	var h pub.AuditHead
	err := m.core.State.View(func(tx *state.Tx) error {
		anchor, head, err := tx.AuditChain()
		h = pub.AuditHead{Anchor: anchorView(anchor), Head: anchorView(head), Records: head.Seq - anchor.Seq}
		return err
	})
	return h, err
}

// activeUsers answers audit.ActiveUsers over the month's records, read a page at a time.
func (m *Module) activeUsers(r *http.Request) (pub.ActiveUsersReport, error) {
	month, err := audit.ParseMonth(r.URL.Query().Get("month"))
	if err != nil {
		return pub.ActiveUsersReport{}, err
	}
	var anchor audit.Anchor
	if err := m.core.State.View(func(tx *state.Tx) (err error) { anchor, _, err = tx.AuditChain(); return err }); err != nil {
		return pub.ActiveUsersReport{}, err
	}
	users, err := audit.ActiveUsers(walk(m.core.State, anchor.Seq+1, 0), month)
	if err != nil {
		return pub.ActiveUsersReport{}, err
	}
	out := pub.ActiveUsersReport{Month: month.String(), Users: []pub.ActiveUser{}}
	for _, u := range users {
		out.Users = append(out.Users, pub.ActiveUser{Principal: principalView(u.Principal), Requests: u.Requests, First: u.First, Last: u.Last})
	}
	return out, nil
}

// export streams the records between since and until as JSON lines, oldest first, after a
// header line naming the range (pub.AuditExportHeader), a read transaction per page. The range
// is contiguous by sequence number: from the first record at or after since to the record
// before the first at or after until (the head as the export began when until is not given),
// so a client verifies it from From to To.
func (m *Module) export(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	f, err := filterOf(r)
	if err != nil {
		return err
	}
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	var anchor, head audit.Anchor
	if err := m.core.State.View(func(tx *state.Tx) (err error) { anchor, head, err = tx.AuditChain(); return err }); err != nil {
		return err
	}
	from, to := anchor, head
	if !f.since.IsZero() || !f.until.IsZero() {
		if from, to, err = m.exportRange(anchor, head, f.since, f.until); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(pub.AuditExportHeader{Export: pub.AuditExportRange{From: anchorView(from), To: anchorView(to), Anchor: anchorView(anchor), Head: anchorView(head)}}); err != nil {
		return err
	}
	if to.Seq > from.Seq {
		for rec, err := range walk(m.core.State, from.Seq+1, to.Seq) {
			if err != nil {
				return err // the answer started: the client sees the stream end before To
			}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// exportRange finds the contiguous range of records an export between since and until covers:
// from is the anchor of the record before the first one at or after since, to the last record
// before the first one at or after until.
func (m *Module) exportRange(anchor, head audit.Anchor, since, until time.Time) (from, to audit.Anchor, err error) {
	from, to = anchor, anchor
	started := since.IsZero()
	for rec, err := range walk(m.core.State, anchor.Seq+1, head.Seq) {
		if err != nil {
			return from, to, err
		}
		if !started {
			if rec.Time.Before(since) {
				from = audit.AnchorOf(rec)
				continue
			}
			started = true
		}
		if !until.IsZero() && !rec.Time.Before(until) {
			break
		}
		to = audit.AnchorOf(rec)
	}
	if to.Seq < from.Seq {
		to = from
	}
	return from, to, nil
}

// View is the API form of a stored record.
func View(r audit.Record) pub.AuditRecord {
	return pub.AuditRecord{Seq: r.Seq, Time: r.Time, Principal: principalView(r.Principal), Action: r.Action, Resource: r.Resource,
		Source: r.Source, RequestID: r.RequestID, Outcome: string(r.Outcome), ErrorCode: r.ErrorCode, Detail: r.Detail, Prev: r.Prev.String(), Hash: r.Hash.String()}
}

func principalView(p audit.Principal) pub.AuditPrincipal {
	return pub.AuditPrincipal{Kind: string(p.Kind), ID: p.ID, Name: p.Name}
}

func anchorView(a audit.Anchor) pub.AuditAnchor {
	return pub.AuditAnchor{Seq: a.Seq, Hash: a.Hash.String()}
}
