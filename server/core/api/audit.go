package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"

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

// HeaderRequestID is the response header naming the request: the audit trail's request id.
const HeaderRequestID = "X-Request-Id"

// requestIDs gives every request an id unique within the cluster's trail with overwhelming
// likelihood: a random prefix per server start and a counter.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: "req-" + hex.EncodeToString(b[:]) + "-"}
}

func (g *requestIDs) next() string { return g.prefix + strconv.FormatUint(g.n.Add(1), 10) }

// SourceOf is the client's address as the audit trail records it.
func SourceOf(r *http.Request) string {
	if a, ok := clientAddr(r); ok {
		return a.String()
	}
	return ""
}

// audited marks an authorized request: the principal is seen (activity), and the request's
// context carries the caller, so every command the handler proposes appends its record (with
// its outcome) in the transaction that applies it.
func (s *Server) audited(r *http.Request, rid string, who audit.Principal, action, resource string) *http.Request {
	now := s.cfg.Now()
	src := SourceOf(r)
	s.cfg.Audit.Seen(who, action, resource, src, rid, now)
	return r.WithContext(command.WithCaller(r.Context(), &command.Caller{
		Kind: string(who.Kind), ID: who.ID, Name: who.Name, Action: action, Resource: resource, Source: src, RequestID: rid,
	}))
}

// auditDenied records a request the policies denied.
func (s *Server) auditDenied(r *http.Request, rid string, who audit.Principal, action, resource string, err error) {
	s.cfg.Audit.Record(audit.Record{
		Time: s.cfg.Now(), Principal: who, Action: action, Resource: resource, Source: SourceOf(r), RequestID: rid,
		Outcome: audit.OutcomeDenied, ErrorCode: string(fault.CodeOf(err)),
	})
}
