// Package fsm is the Raft state machine: a thin, deterministic dispatcher from replicated
// commands to stateless handlers that change the state store.
//
// Determinism rules: handlers read only the command and the state; the command carries the
// proposer's time and any generated IDs or hashes. No clocks, randomness or I/O outside the state
// transaction happen here.
//
// Exactly-once: every entry's index is recorded with the state it produced, and an entry at or
// below the recorded index is skipped, so replaying a log over a snapshot that already contains
// part of it changes nothing. A command with a request ID whose outcome is remembered is answered
// with that outcome instead of being applied again.
package fsm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// FSM implements raft.BatchingFSM over a state.Store.
type FSM struct {
	store   *state.Store
	table   *Table
	log     *slog.Logger
	applied atomic.Uint64

	mu      sync.Mutex
	advance chan struct{} // closed and replaced whenever applied moves

	events  Broker
	pending []Event // events of the transaction being applied, published once it commits
}

// Events returns the broker of change events.
func (f *FSM) Events() *Broker { return &f.events }

// New returns an FSM over store that applies the commands of table.
func New(store *state.Store, table *Table, log *slog.Logger) *FSM {
	if log == nil {
		log = slog.Default()
	}
	f := &FSM{store: store, table: table, log: log, advance: make(chan struct{})}
	_ = store.View(func(tx *state.Tx) error { f.applied.Store(tx.AppliedIndex()); return nil })
	return f
}

// Store returns the state store the FSM writes.
func (f *FSM) Store() *state.Store { return f.store }

// AppliedIndex is the index of the last log entry reflected in the state.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// WaitApplied blocks until the state reflects index, or ctx ends.
func (f *FSM) WaitApplied(ctx context.Context, index uint64) error {
	for {
		f.mu.Lock()
		ch := f.advance
		f.mu.Unlock()
		if f.applied.Load() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fault.New(fault.Timeout, "timed out waiting for this server to apply index %d (at %d)", index, f.applied.Load())
		}
	}
}

func (f *FSM) setApplied(i uint64) {
	f.applied.Store(i)
	f.mu.Lock()
	close(f.advance)
	f.advance = make(chan struct{})
	f.mu.Unlock()
}

// Apply applies one log entry.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies consecutive log entries in one state transaction. The response for a
// command entry is a command.Result; for a batch entry a []command.Result; nil otherwise.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	var last uint64
	err := f.store.Update(func(tx *state.Tx) error {
		done := tx.AppliedIndex()
		for i, l := range logs {
			last = max(last, l.Index)
			if l.Index <= done || l.Type != raft.LogCommand {
				continue
			}
			out[i] = f.applyEntry(tx, l)
		}
		if last <= done {
			return nil
		}
		return tx.SetAppliedIndex(last)
	})
	if err != nil {
		// The transaction failed as a whole (disk full, I/O error): this node can no longer
		// follow the log, and continuing would diverge from its peers.
		panic(fmt.Sprintf("fsm: state transaction failed at index %d: %v", last, err))
	}
	for _, e := range f.pending {
		f.events.publish(e)
	}
	f.pending = f.pending[:0]
	if last > f.applied.Load() {
		f.setApplied(last)
	}
	return out
}

func (f *FSM) applyEntry(tx *state.Tx, l *raft.Log) any {
	c, err := command.Decode(l.Data)
	if err != nil {
		f.log.Error("skipping log entry that cannot be decoded", "index", l.Index, "error", err)
		return command.Result{Index: l.Index, Code: string(fault.Internal), Message: err.Error()}
	}
	if c.Type != command.TypeBatch {
		if err := expire(tx, c.Time); err != nil {
			return internal(l.Index, err)
		}
		return f.applyCommand(tx, l.Index, c)
	}
	subs, err := command.DecodeBatch(c)
	if err != nil {
		f.log.Error("skipping batch that cannot be decoded", "index", l.Index, "error", err)
		return command.Result{Index: l.Index, Code: string(fault.Internal), Message: err.Error()}
	}
	var newest time.Time
	for _, sub := range subs {
		if sub.Time.After(newest) {
			newest = sub.Time
		}
	}
	if err := expire(tx, newest); err != nil {
		return internal(l.Index, err)
	}
	results := make([]command.Result, len(subs))
	for i, sub := range subs {
		results[i] = f.applyCommand(tx, l.Index, sub)
	}
	return results
}

// applyCommand applies one command of the Raft entry at index. The command's changes carry a
// state index of its own (state.Tx.NextIndex), also when the entry is a batch: the result's
// Index is that state index. A command proposed for a caller (command.Caller) appends its audit
// record in the same transaction, whatever its outcome; a replayed request (a request id whose
// outcome is remembered) appends none, as it changes nothing.
func (f *FSM) applyCommand(tx *state.Tx, index uint64, c *command.Command) command.Result {
	now := c.Time.UnixNano()
	if c.RequestID != "" {
		rec, seen, err := tx.GetRequest(c.RequestID)
		if err != nil {
			return internal(index, err)
		}
		if seen {
			return command.Result{Index: rec.Index, Code: rec.Code, Message: rec.Message, Data: rec.Data}
		}
	}
	idx, err := tx.NextIndex(index)
	if err != nil {
		return internal(index, err)
	}
	res, detail := f.dispatch(tx, idx, c)
	if c.Caller != nil {
		if err := auditCommand(tx, c, res, detail); err != nil {
			return internal(index, err)
		}
	}
	if c.RequestID != "" {
		rec := state.RequestRecord{Time: now, Index: res.Index, Code: res.Code, Message: res.Message, Data: res.Data}
		if err := tx.PutRequest(c.RequestID, rec); err != nil {
			return internal(index, err)
		}
	}
	return res
}

// dispatch applies c through its handler. detail is the audit detail of the handler's value
// (audit.Detailer), "" when it has none.
func (f *FSM) dispatch(tx *state.Tx, index uint64, c *command.Command) (res command.Result, detail string) {
	v, err := f.table.handle(tx, index, c)
	if err != nil {
		return command.Result{Index: index, Code: string(fault.CodeOf(err)), Message: err.Error()}, ""
	}
	if f.events.active() {
		f.pending = append(f.pending, eventOf(index, c))
	}
	if d, ok := v.(audit.Detailer); ok {
		detail = d.AuditDetail()
	}
	res = command.Result{Index: index}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return internal(index, err), ""
		}
		res.Data = b
	}
	return res, detail
}

// expire forgets remembered request outcomes older than their TTL, judged by the time carried in
// the log entry: every node applies the same entries, so every node forgets the same ones (a
// node's own clock, or how Raft happened to group entries into ApplyBatch calls, must not matter).
func expire(tx *state.Tx, newest time.Time) error {
	if newest.IsZero() {
		return nil
	}
	return tx.ExpireRequests(newest.UnixNano()-int64(state.RequestTTL), 64)
}

func internal(index uint64, err error) command.Result {
	return command.Result{Index: index, Code: string(fault.Internal), Message: err.Error()}
}

// Snapshot pins the current state; raft persists it in the background.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	sn, err := f.store.BeginSnapshot()
	if err != nil {
		return nil, err
	}
	return &snapshot{sn: sn}, nil
}

// Restore replaces the state with a snapshot.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer func() { _ = rc.Close() }()
	if err := f.store.Restore(rc); err != nil {
		return err
	}
	var idx uint64
	_ = f.store.View(func(tx *state.Tx) error { idx = tx.AppliedIndex(); return nil })
	f.applied.Store(idx)
	f.mu.Lock()
	close(f.advance)
	f.advance = make(chan struct{})
	f.mu.Unlock()
	return nil
}

type snapshot struct{ sn *state.Snapshot }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.sn.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("fsm: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() { s.sn.Release() }
