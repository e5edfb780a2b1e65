package auditlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/command"
)

// DefaultQueue is how many records a Writer holds before it drops (and counts) new ones.
const DefaultQueue = 4096

// maxSeenPerDay bounds how many principals a Writer remembers for today's activity records;
// past it each request of a principal not remembered is recorded again (more records, no more
// memory).
const maxSeenPerDay = 100_000

// DroppedErrorCode is the ErrorCode of the record that says records were dropped.
const DroppedErrorCode = "audit_dropped"

// Writer brings audit records made outside a command into the trail: Record queues one without
// blocking, and Run proposes the queue in batches of at most command.MaxAuditAppend records, one
// audit.append command each. The queue is bounded; a record that does not fit is counted, and
// the next batch starts with one record saying how many were dropped (outcome failed, error code
// DroppedErrorCode), so a loss shows in the trail itself. Seen turns a principal's first
// authenticated request of each UTC day on this server into one activity record. A Writer runs
// on every server; it is safe for concurrent use.
type Writer struct {
	p   command.Proposer
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	queue   []audit.Record
	max     int
	dropped uint64
	day     time.Time // the UTC day seen holds
	seen    map[seenKey]struct{}
	wake    chan struct{}
}

type seenKey struct {
	kind   audit.Kind
	byName bool
	id     string
}

// NewWriter returns a writer that proposes through p (the node's Raft member), stamps the
// dropped-records record with now, and logs proposals that fail.
func NewWriter(p command.Proposer, now func() time.Time, log *slog.Logger) *Writer {
	if log == nil {
		log = slog.Default()
	}
	return &Writer{p: p, now: now, log: log, max: DefaultQueue, seen: map[seenKey]struct{}{}, wake: make(chan struct{}, 1)}
}

// Record queues r (its Seq, Prev and Hash are ignored; a zero Time takes the time of the
// command that carries it). It never blocks: when the queue is full r is dropped and counted.
func (w *Writer) Record(r audit.Record) {
	w.mu.Lock()
	if len(w.queue) >= w.max {
		w.dropped++
	} else {
		w.queue = append(w.queue, r)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Seen records a principal's authenticated request at t as activity: the first of each
// principal (kind and ID, or name without an ID) per UTC day on this server becomes one record
// (outcome allowed), so the active-users report counts principals that only read. Principals
// that do not count as users (hosts, anonymous) are not recorded. Memory holds today's
// principals only.
func (w *Writer) Seen(p audit.Principal, action, resource, source, requestID string, t time.Time) {
	if !p.Kind.CountsAsUser() {
		return
	}
	y, m, d := t.UTC().Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	k := seenKey{kind: p.Kind, id: p.ID}
	if p.ID == "" {
		k = seenKey{kind: p.Kind, byName: true, id: p.Name}
	}
	w.mu.Lock()
	switch {
	case day.After(w.day):
		w.day = day
		clear(w.seen)
	case day.Before(w.day):
		w.mu.Unlock()
		return // a request stamped before today's first one: the day was recorded already
	}
	if _, ok := w.seen[k]; ok {
		w.mu.Unlock()
		return
	}
	if len(w.seen) < maxSeenPerDay {
		w.seen[k] = struct{}{}
	}
	w.mu.Unlock()
	w.Record(audit.Record{Time: t, Principal: p, Action: action, Resource: resource, Source: source,
		RequestID: requestID, Outcome: audit.OutcomeAllowed})
}

// Run proposes queued records until ctx ends. A batch that fails to apply (no leader, a
// timeout) is proposed again, with the same request id so it applies once, 100 ms apart
// doubling to 5 s; records queue meanwhile.
func (w *Writer) Run(ctx context.Context) {
	for {
		batch := w.take()
		if len(batch) == 0 {
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if !w.propose(ctx, batch) {
			w.log.Warn("audit records not written: the server is stopping", "records", len(batch))
			return
		}
	}
}

// take removes the next batch from the queue: the dropped-records record first when records
// were dropped, then up to command.MaxAuditAppend records in the order they came.
func (w *Writer) take() []command.AuditEntry {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []command.AuditEntry
	if w.dropped > 0 {
		out = append(out, entryOf(audit.Record{
			Time:      w.now(),
			Principal: audit.Principal{Kind: audit.KindAnonymous},
			Action:    "audit:RecordDropped",
			Resource:  fmt.Sprintf("%d records were dropped: audit queue full", w.dropped),
			Outcome:   audit.OutcomeFailed, ErrorCode: DroppedErrorCode,
		}))
		w.dropped = 0
	}
	n := min(len(w.queue), command.MaxAuditAppend-len(out))
	for _, r := range w.queue[:n] {
		out = append(out, entryOf(r))
	}
	w.queue = append(w.queue[:0], w.queue[n:]...)
	return out
}

// propose applies one batch, retrying until it applies or ctx ends (false).
func (w *Writer) propose(ctx context.Context, batch []command.AuditEntry) bool {
	rid := newRequestID()
	wait := 100 * time.Millisecond
	for {
		res, err := command.Propose(command.WithRequestID(ctx, rid), w.p, command.AuditAppendCmd, w.now(), command.AuditAppend{Records: batch})
		if err == nil {
			return true
		}
		if res.Code != "" { // refused by the state machine: sending it again cannot help
			w.log.Error("audit records refused by the state machine; they are lost", "records", len(batch), "error", err)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.log.Warn("audit records not written yet; retrying", "records", len(batch), "error", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// entryOf is the audit.append form of a record.
func entryOf(r audit.Record) command.AuditEntry {
	var t int64
	if !r.Time.IsZero() {
		t = r.Time.UnixNano()
	}
	return command.AuditEntry{Time: t, Kind: string(r.Principal.Kind), ID: r.Principal.ID, Name: r.Principal.Name,
		Action: r.Action, Resource: r.Resource, Source: r.Source, RequestID: r.RequestID,
		Outcome: string(r.Outcome), ErrorCode: r.ErrorCode, Detail: r.Detail}
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "audit-" + hex.EncodeToString(b[:])
}
