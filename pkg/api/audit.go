package api

import "time"

// AuditPrincipal is who made an audited request: Kind user, token, role, host or anonymous;
// ID stable (a user's id, a token's accessor); Name as it was called then.
type AuditPrincipal struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// AuditRecord is one record of the audit trail, in its stored and exported JSON form. Outcome is
// allowed, denied or failed; ErrorCode the error code of a denied or failed request; Detail what
// the action did when its service says (a git push's refs and their outcomes). Prev and
// Hash (64 hex digits) chain it to the record before: Hash is SHA-256 over the record's
// canonical form and Prev, so `slipway audit verify` finds an edited, dropped or reordered
// record. It never holds a secret or a request body.
type AuditRecord struct {
	Seq       uint64         `json:"seq"`
	Time      time.Time      `json:"time"`
	Principal AuditPrincipal `json:"principal"`
	Action    string         `json:"action"`
	Resource  string         `json:"resource,omitempty"`
	Source    string         `json:"source,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	Outcome   string         `json:"outcome"`
	ErrorCode string         `json:"error_code,omitempty"`
	Detail    string         `json:"detail,omitempty"`
	Prev      string         `json:"prev"`
	Hash      string         `json:"hash"`
}

// AuditAnchor is a point of the trail: a record's Seq and Hash (Seq 0 and a zero hash: before
// the first record).
type AuditAnchor struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// AuditRecordList is the answer of GET /v1/audit/records, newest record first.
type AuditRecordList struct {
	Records []AuditRecord `json:"records"`
	Next    string        `json:"next,omitempty"`
}

// AuditHead is the answer of GET /v1/audit/head: the trim anchor (the last record retention
// trimmed; verification starts after it) and the head (the last record appended). Records is
// how many the trail keeps.
type AuditHead struct {
	Anchor  AuditAnchor `json:"anchor"`
	Head    AuditAnchor `json:"head"`
	Records uint64      `json:"records"`
}

// AuditExportHeader is the first line of GET /v1/audit/export: the records that follow, one JSON
// AuditRecord a line, oldest first, are exactly those after From up to and including To, so a
// client verifies the stream end to end from From to To. Anchor and Head are the trail's when
// the export began.
type AuditExportHeader struct {
	Export AuditExportRange `json:"audit_export"`
}

// AuditExportRange is the range an export covers (see AuditExportHeader).
type AuditExportRange struct {
	From   AuditAnchor `json:"from"`
	To     AuditAnchor `json:"to"`
	Anchor AuditAnchor `json:"anchor"`
	Head   AuditAnchor `json:"head"`
}

// AuditFilter selects audit records: Principal (a name or an ID), Action and Resource are exact,
// or end in * to match a prefix; Since and Until bound the time (Since included, Until not).
type AuditFilter struct {
	Principal string
	Action    string
	Resource  string
	Since     time.Time
	Until     time.Time
}

// ActiveUser is one principal's authenticated requests in a month.
type ActiveUser struct {
	Principal AuditPrincipal `json:"principal"`
	Requests  uint64         `json:"requests"`
	First     time.Time      `json:"first"`
	Last      time.Time      `json:"last"`
}

// ActiveUsersReport is the answer of GET /v1/audit/active-users: each distinct principal (users,
// tokens, roles; not hosts, not anonymous requests) with an audit record in Month (YYYY-MM, UTC),
// sorted by kind, name and ID.
type ActiveUsersReport struct {
	Month string       `json:"month"`
	Users []ActiveUser `json:"users"`
}
