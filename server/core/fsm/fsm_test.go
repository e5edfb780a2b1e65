package fsm_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

// samplePayload is the payload of the tests' sample command, which creates a record by name
// (the core knows no service, so its tests bring their own).
type samplePayload struct {
	Name string `json:"name"`
}

// sampleRecord is what the sample command stores and answers.
type sampleRecord struct {
	Name        string `json:"name"`
	CreateIndex uint64 `json:"create_index"`
}

var (
	cmdSampleCreate = command.Define[samplePayload](60301, "fsmtest.create", 1)
	appCreate       = cmdSampleCreate.Type()
	bucketSamples   = []byte("fsmtest/samples")
)

// applySampleCreate creates a record; a second one of the same name is a conflict.
func applySampleCreate(tx *state.Tx, index uint64, _ *command.Command, p samplePayload) (any, error) {
	if _, ok, err := state.Get[sampleRecord](tx, bucketSamples, p.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "sample %s exists", p.Name)
		}
		return nil, err
	}
	rec := sampleRecord{Name: p.Name, CreateIndex: index}
	return rec, state.Put(tx, bucketSamples, p.Name, rec)
}

// newFSM is a state machine with the core's commands and the tests' sample command.
func newFSM(t testing.TB) *fsm.FSM {
	t.Helper()
	table := fsm.NewTable()
	fsm.On(table, cmdSampleCreate, applySampleCreate)
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), bucketSamples)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return fsm.New(s, table, slog.New(slog.NewTextHandler(io.Discard, nil)))
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

func apps(t *testing.T, f *fsm.FSM) []string {
	t.Helper()
	var names []string
	_ = f.Store().View(func(tx *state.Tx) error {
		l, _, err := state.List[sampleRecord](tx, bucketSamples, "", 0, nil)
		for _, a := range l {
			names = append(names, a.Name)
		}
		return err
	})
	return names
}

func TestReplayedIndexIsSkipped(t *testing.T) {
	f := newFSM(t)
	e := entry(t, 5, appCreate, "", samplePayload{Name: "web"})
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
	first := result(t, f.Apply(entry(t, 1, appCreate, "tok/k1", samplePayload{Name: "web"})))
	again := result(t, f.Apply(entry(t, 2, appCreate, "tok/k1", samplePayload{Name: "web"})))
	if again.Code != "" || again.Index != first.Index || !bytes.Equal(again.Data, first.Data) {
		t.Fatalf("retry answered %+v, first %+v", again, first)
	}
	other := result(t, f.Apply(entry(t, 3, appCreate, "tok/k2", samplePayload{Name: "web"})))
	if other.Code != string(fault.Conflict) {
		t.Fatalf("new request for same name: %+v, want conflict", other)
	}
}

func TestBatchResultsInOrder(t *testing.T) {
	f := newFSM(t)
	var parts [][]byte
	for _, n := range []string{"a", "b", "a"} {
		c, _ := command.New(appCreate, "", time.Unix(1, 0), samplePayload{Name: n})
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
	f.Apply(entry(t, 2, appCreate, "", samplePayload{Name: "after"}))
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
	f.Apply(entry(t, 1, appCreate, "", samplePayload{Name: "a"}))
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// A write after Snapshot() must not leak into the snapshot taken before it.
	f.Apply(entry(t, 2, appCreate, "", samplePayload{Name: "b"}))
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
	g.Apply(entry(t, 2, appCreate, "", samplePayload{Name: "b"}))
	if got := apps(t, g); len(got) != 2 {
		t.Fatalf("after replay %v", got)
	}
}

func TestRestoreRefusesGarbage(t *testing.T) {
	f := newFSM(t)
	f.Apply(entry(t, 1, appCreate, "", samplePayload{Name: "a"}))
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
		c, _ := command.New(appCreate, fmt.Sprintf("tok/k%d", i), time.Unix(1700000000, 0).Add(time.Duration(hours)*time.Hour), samplePayload{Name: fmt.Sprintf("a%d", i)})
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
	remembered := func(f *fsm.FSM) []string {
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
