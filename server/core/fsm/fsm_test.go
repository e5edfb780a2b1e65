package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func newFSM(t *testing.T) *FSM {
	t.Helper()
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t2 := NewTable()
	RegisterLegacy(t2)
	return New(s, t2, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func entry(t *testing.T, index uint64, typ command.Type, rid string, p any) *raft.Log {
	t.Helper()
	c, err := command.New(typ, rid, time.Unix(1700000000, 0), p)
	if err != nil {
		t.Fatal(err)
	}
	return logOf(t, index, c)
}

// logOf is the Raft log entry of a command at index.
func logOf(t *testing.T, index uint64, c *command.Command) *raft.Log {
	t.Helper()
	b, err := command.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: b}
}

func result(t *testing.T, v any) command.Result {
	t.Helper()
	r, ok := v.(command.Result)
	if !ok {
		t.Fatalf("response %T, want command.Result", v)
	}
	return r
}

func apps(t *testing.T, f *FSM) []string {
	t.Helper()
	var names []string
	_ = f.Store().View(func(tx *state.Tx) error {
		l, _, err := tx.ListApps("", 0)
		for _, a := range l {
			names = append(names, a.Name)
		}
		return err
	})
	return names
}

func TestReplayedIndexIsSkipped(t *testing.T) {
	f := newFSM(t)
	e := entry(t, 5, command.TypeAppCreate, "", command.AppCreate{Name: "web"})
	if r := result(t, f.Apply(e)); r.Code != "" {
		t.Fatalf("first apply: %+v", r)
	}
	// The same entry again (log replay over a snapshot that holds it) changes nothing and is
	// not reported as a conflict.
	if v := f.Apply(e); v != nil {
		t.Fatalf("replayed entry answered %v, want nil", v)
	}
	if f.AppliedIndex() != 5 {
		t.Fatalf("applied index %d", f.AppliedIndex())
	}
}

func TestRequestIDAppliesOnce(t *testing.T) {
	f := newFSM(t)
	first := result(t, f.Apply(entry(t, 1, command.TypeAppCreate, "tok/k1", command.AppCreate{Name: "web"})))
	again := result(t, f.Apply(entry(t, 2, command.TypeAppCreate, "tok/k1", command.AppCreate{Name: "web"})))
	if again.Code != "" || again.Index != first.Index || !bytes.Equal(again.Data, first.Data) {
		t.Fatalf("retry answered %+v, first %+v", again, first)
	}
	other := result(t, f.Apply(entry(t, 3, command.TypeAppCreate, "tok/k2", command.AppCreate{Name: "web"})))
	if other.Code != string(fault.Conflict) {
		t.Fatalf("new request for same name: %+v, want conflict", other)
	}
}

func TestBatchResultsInOrder(t *testing.T) {
	f := newFSM(t)
	var parts [][]byte
	for _, n := range []string{"a", "b", "a"} {
		c, _ := command.New(command.TypeAppCreate, "", time.Unix(1, 0), command.AppCreate{Name: n})
		b, _ := command.Encode(c)
		parts = append(parts, b)
	}
	data, err := command.EncodeBatch(parts)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data}).([]command.Result)
	if !ok || len(res) != 3 {
		t.Fatalf("batch response %v", res)
	}
	if res[0].Code != "" || res[1].Code != "" || res[2].Code != string(fault.Conflict) {
		t.Fatalf("batch results %+v", res)
	}
}

func TestMalformedEntryDoesNotStopTheLog(t *testing.T) {
	f := newFSM(t)
	bad := &raft.Log{Index: 1, Type: raft.LogCommand, Data: []byte{1, 0xff, 0xff, 1, '{', '}'}}
	if r := result(t, f.Apply(bad)); r.Code != string(fault.Internal) {
		t.Fatalf("malformed: %+v", r)
	}
	f.Apply(entry(t, 2, command.TypeAppCreate, "", command.AppCreate{Name: "after"}))
	if got := apps(t, f); len(got) != 1 || got[0] != "after" {
		t.Fatalf("apps %v", got)
	}
}

type sink struct {
	bytes.Buffer
	cancelled bool
}

func (s *sink) ID() string    { return "test" }
func (s *sink) Cancel() error { s.cancelled = true; return nil }
func (s *sink) Close() error  { return nil }

func TestSnapshotRestoreIsExact(t *testing.T) {
	f := newFSM(t)
	f.Apply(entry(t, 1, command.TypeAppCreate, "", command.AppCreate{Name: "a"}))
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// A write after Snapshot() must not leak into the snapshot taken before it.
	f.Apply(entry(t, 2, command.TypeAppCreate, "", command.AppCreate{Name: "b"}))
	var s sink
	if err := snap.Persist(&s); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	g := newFSM(t)
	if err := g.Restore(io.NopCloser(&s.Buffer)); err != nil {
		t.Fatal(err)
	}
	if got := apps(t, g); len(got) != 1 || got[0] != "a" || g.AppliedIndex() != 1 {
		t.Fatalf("restored apps %v at %d, want [a] at 1", got, g.AppliedIndex())
	}
	// Replaying entry 2 on the restored state applies it once.
	g.Apply(entry(t, 2, command.TypeAppCreate, "", command.AppCreate{Name: "b"}))
	if got := apps(t, g); len(got) != 2 {
		t.Fatalf("after replay %v", got)
	}
}

func TestRestoreRefusesGarbage(t *testing.T) {
	f := newFSM(t)
	f.Apply(entry(t, 1, command.TypeAppCreate, "", command.AppCreate{Name: "a"}))
	if err := f.Restore(io.NopCloser(bytes.NewReader([]byte("not a database")))); err == nil {
		t.Fatal("garbage restore accepted")
	}
	if got := apps(t, f); len(got) != 1 {
		t.Fatalf("state changed by a refused restore: %v", got)
	}
}

// TestRequestExpiryIsDeterministic applies the same entries to two state machines, one of them
// restarted from a snapshot half-way (so it saw fewer commands in memory) and fed in different
// ApplyBatch groupings: their remembered requests must stay identical.
func TestRequestExpiryIsDeterministic(t *testing.T) {
	mk := func(i uint64, hours int) *raft.Log {
		c, _ := command.New(command.TypeAppCreate, fmt.Sprintf("tok/k%d", i), time.Unix(1700000000, 0).Add(time.Duration(hours)*time.Hour), command.AppCreate{Name: fmt.Sprintf("a%d", i)})
		b, _ := command.Encode(c)
		return &raft.Log{Index: i, Type: raft.LogCommand, Data: b}
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 20; i++ {
		logs = append(logs, mk(i, int(i)/4)) // times advance past the one-hour TTL
	}
	a := newFSM(t)
	a.ApplyBatch(logs)
	b := newFSM(t)
	for _, l := range logs[:10] {
		b.Apply(l)
	}
	snap, _ := b.Snapshot()
	var s sink
	_ = snap.Persist(&s)
	snap.Release()
	c := newFSM(t)
	if err := c.Restore(io.NopCloser(&s.Buffer)); err != nil {
		t.Fatal(err)
	}
	c.ApplyBatch(logs[10:15])
	c.ApplyBatch(logs[15:])
	remembered := func(f *FSM) []string {
		var ids []string
		_ = f.Store().View(func(tx *state.Tx) error {
			for i := 1; i <= 20; i++ {
				if _, ok, _ := tx.GetRequest(fmt.Sprintf("tok/k%d", i)); ok {
					ids = append(ids, fmt.Sprint(i))
				}
			}
			return nil
		})
		return ids
	}
	ra, rc := remembered(a), remembered(c)
	if fmt.Sprint(ra) != fmt.Sprint(rc) || len(ra) == 20 {
		t.Fatalf("remembered requests differ or none expired: %v vs %v", ra, rc)
	}
}

func TestAppUpdateCheckAndSet(t *testing.T) {
	f := newFSM(t)
	result(t, f.Apply(entry(t, 1, command.TypeAppCreate, "", command.AppCreate{Name: "web"})))

	ok := result(t, f.Apply(entry(t, 2, command.TypeAppUpdate, "", command.AppUpdate{Name: "web", Description: "v2", CAS: 1})))
	var a state.App
	if ok.Code != "" || json.Unmarshal(ok.Data, &a) != nil || a.Description != "v2" || a.ModifyIndex != 2 || a.CreateIndex != 1 {
		t.Fatalf("update with the current index: %+v (%+v), want description v2 at modify index 2", ok, a)
	}
	// The same precondition again is stale now: refused, and nothing changes.
	stale := result(t, f.Apply(entry(t, 3, command.TypeAppUpdate, "", command.AppUpdate{Name: "web", Description: "lost", CAS: 1})))
	if stale.Code != string(fault.Conflict) || !strings.Contains(stale.Message, "modified at index 2") {
		t.Fatalf("update with a stale index: %+v, want a conflict naming index 2", stale)
	}
	// Without a precondition the update always applies.
	blind := result(t, f.Apply(entry(t, 4, command.TypeAppUpdate, "", command.AppUpdate{Name: "web", Description: "v3"})))
	if blind.Code != "" {
		t.Fatalf("unconditional update: %+v", blind)
	}
	missing := result(t, f.Apply(entry(t, 5, command.TypeAppUpdate, "", command.AppUpdate{Name: "nope", Description: "x", CAS: 1})))
	if missing.Code != string(fault.NotFound) {
		t.Fatalf("update of a missing app: %+v, want not_found", missing)
	}
	if err := f.Store().View(func(tx *state.Tx) error {
		got, err := tx.GetApp("web")
		if err == nil && (got.Description != "v3" || got.ModifyIndex != 4) {
			err = fmt.Errorf("stored %+v, want description v3 at modify index 4", got)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestBatchedWritesGetDistinctIndexes: commands that share one Raft entry (a batch) must still
// leave distinct, increasing modify indexes, or a check-and-set on the index the first write
// answered would also match the second write's version and overwrite it. This was found by the
// test bed's linearizability check: two updates batched at one Raft index both answered @23.
func TestBatchedWritesGetDistinctIndexes(t *testing.T) {
	f := newFSM(t)
	result(t, f.Apply(entry(t, 1, command.TypeAppCreate, "", command.AppCreate{Name: "web"})))
	var parts [][]byte
	for _, p := range []command.AppUpdate{{Name: "web", Description: "first", CAS: 1}, {Name: "web", Description: "second"}} {
		c, _ := command.New(command.TypeAppUpdate, "", time.Unix(1, 0), p)
		b, _ := command.Encode(c)
		parts = append(parts, b)
	}
	data, err := command.EncodeBatch(parts)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: data}).([]command.Result)
	if !ok || len(res) != 2 || res[0].Code != "" || res[1].Code != "" {
		t.Fatalf("batch results %+v", res)
	}
	var first, second state.App
	_ = json.Unmarshal(res[0].Data, &first)
	_ = json.Unmarshal(res[1].Data, &second)
	if first.ModifyIndex < 2 || second.ModifyIndex <= first.ModifyIndex {
		t.Fatalf("modify indexes %d then %d in one batch at Raft index 2: want distinct and increasing", first.ModifyIndex, second.ModifyIndex)
	}
	// A check-and-set on the first update's index is stale: the second update came after it.
	stale := result(t, f.Apply(entry(t, 3, command.TypeAppUpdate, "", command.AppUpdate{Name: "web", Description: "third", CAS: first.ModifyIndex})))
	if stale.Code != string(fault.Conflict) {
		t.Fatalf("check-and-set on the first batched update's index: %+v, want a conflict", stale)
	}
	// The next entry's command gets an index above all of them, and not below its Raft index.
	next := result(t, f.Apply(entry(t, 4, command.TypeAppUpdate, "", command.AppUpdate{Name: "web", Description: "fourth", CAS: second.ModifyIndex})))
	var fourth state.App
	if next.Code != "" || json.Unmarshal(next.Data, &fourth) != nil || fourth.ModifyIndex <= second.ModifyIndex || fourth.ModifyIndex < 4 {
		t.Fatalf("after the batch: %+v (%+v)", next, fourth)
	}
}
