package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"
)

func (f AuditFilter) values(v url.Values) url.Values {
	if f.Principal != "" {
		v.Set("principal", f.Principal)
	}
	if f.Action != "" {
		v.Set("action", f.Action)
	}
	if f.Resource != "" {
		v.Set("resource", f.Resource)
	}
	if !f.Since.IsZero() {
		v.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		v.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	return v
}

// AuditList returns one page of the audit records f selects, newest first; q.Next continues
// with the next (older) page.
func (c *Client) AuditList(ctx context.Context, f AuditFilter, q *QueryOptions) (*AuditRecordList, error) {
	var l AuditRecordList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/audit/records", query: f.values(q.values()), out: &l})
	return &l, err
}

// AuditExport streams the audit records between since and until (zero: unbounded) into w as
// JSON lines, oldest first, after a first line holding the AuditExportHeader. It is not
// retried once the answer started.
func (c *Client) AuditExport(ctx context.Context, since, until time.Time, w io.Writer) error {
	q := AuditFilter{Since: since, Until: until}.values(url.Values{})
	return c.do(ctx, request{method: http.MethodGet, path: "/v1/audit/export", query: q, rawOut: w})
}

// AuditHead returns the trail's trim anchor and head.
func (c *Client) AuditHead(ctx context.Context, q *QueryOptions) (*AuditHead, error) {
	var h AuditHead
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/audit/head", query: q.values(), out: &h})
	return &h, err
}

// ActiveUsers reports the principals with an authenticated request in month (YYYY-MM).
func (c *Client) ActiveUsers(ctx context.Context, month string) (*ActiveUsersReport, error) {
	var r ActiveUsersReport
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/audit/active-users", query: url.Values{"month": {month}}, out: &r})
	return &r, err
}
