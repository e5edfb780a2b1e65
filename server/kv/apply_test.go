package kv

import (
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
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// newFSM is a state machine with the store registered the way the server registers it.
func newFSM(t *testing.T) *fsm.FSM {
	t.Helper()
	reg := module.NewRegistry(fsm.NewTable())
	reg.Add(&module.Core{}, New())
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return fsm.New(s, reg.Table(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func logOf[T any](t *testing.T, index uint64, d command.Def[T], p T) *raft.Log {
	t.Helper()
	c, err := d.New("", time.Unix(1700000000, 0), p)
	if err != nil {
		t.Fatal(err)
	}
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
		t.Fatalf("apply answered %T, want command.Result", v)
	}
	return r
}

func put(t *testing.T, f *fsm.FSM, index uint64, key, value string, cas *uint64) command.Result {
	t.Helper()
	return result(t, f.Apply(logOf(t, index, cmdPut, PutPayload{Key: key, Value: []byte(value), CAS: cas})))
}

func del(t *testing.T, f *fsm.FSM, index uint64, key string, cas *uint64) command.Result {
	t.Helper()
	return result(t, f.Apply(logOf(t, index, cmdDelete, DeletePayload{Key: key, CAS: cas})))
}

func cas(n uint64) *uint64 { return &n }

func entryAt(t *testing.T, f *fsm.FSM, key string) (Entry, bool) {
	t.Helper()
	var e Entry
	var ok bool
	if err := f.Store().View(func(tx *state.Tx) error {
		var err error
		e, ok, err = getEntry(tx, key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return e, ok
}

func wantCode(t *testing.T, what string, r command.Result, code fault.Code, msg string) {
	t.Helper()
	if fault.Code(r.Code) != code || !strings.Contains(r.Message, msg) {
		t.Fatalf("%s: %+v; want %s saying %q", what, r, code, msg)
	}
}

// TestLogFormat pins the store's commands and records: numbers, names, versions and JSON are in
// the Raft log and in snapshots.
func TestLogFormat(t *testing.T) {
	if cmdPut.Type() != 1000 || cmdPut.Name() != "kv.put" || cmdPut.Version() != 1 ||
		cmdDelete.Type() != 1001 || cmdDelete.Name() != "kv.delete" || cmdDelete.Version() != 1 {
		t.Fatalf("commands are %d %s v%d and %d %s v%d", cmdPut.Type(), cmdPut.Name(), cmdPut.Version(), cmdDelete.Type(), cmdDelete.Name(), cmdDelete.Version())
	}
	c, _ := cmdPut.New("", time.Unix(0, 0), PutPayload{Key: "a/b", Value: []byte("hi"), CAS: cas(0)})
	if string(c.Payload) != `{"key":"a/b","value":"aGk=","cas":0}` {
		t.Fatalf("kv.put payload %s", c.Payload)
	}
	c, _ = cmdDelete.New("", time.Unix(0, 0), DeletePayload{Key: "a"})
	if string(c.Payload) != `{"key":"a"}` {
		t.Fatalf("kv.delete payload %s", c.Payload)
	}
	if string(bucketEntries) != "kv/entries" || string(bucketMeta) != "kv/meta" {
		t.Fatalf("buckets %s %s", bucketEntries, bucketMeta)
	}
}

func TestPutAndCAS(t *testing.T) {
	f := newFSM(t)
	// cas=0 creates only.
	r := put(t, f, 10, "app/colour", "red", cas(0))
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	e, err := command.Data[Entry](r)
	if err != nil || e.Key != "app/colour" || string(e.Value) != "red" || e.CreateIndex != 10 || e.ModifyIndex != 10 {
		t.Fatalf("created %+v, %v", e, err)
	}
	wantCode(t, "cas=0 on an existing key", put(t, f, 11, "app/colour", "blue", cas(0)), fault.Conflict, "already exists (modify index 10)")
	wantCode(t, "stale cas", put(t, f, 12, "app/colour", "blue", cas(9)), fault.Conflict, "modified at index 10, not 9")
	wantCode(t, "cas on a missing key", put(t, f, 13, "app/size", "1", cas(10)), fault.Conflict, "does not exist")
	if e, _ := entryAt(t, f, "app/colour"); string(e.Value) != "red" || e.ModifyIndex != 10 {
		t.Fatalf("refused writes changed the entry: %+v", e)
	}
	if _, ok := entryAt(t, f, "app/size"); ok {
		t.Fatal("a refused create stored the key")
	}
	// The right cas replaces; the create index stays.
	if r := put(t, f, 14, "app/colour", "blue", cas(10)); r.Err() != nil {
		t.Fatal(r.Err())
	}
	// No cas: unconditional.
	if r := put(t, f, 15, "app/colour", "green", nil); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if e, _ := entryAt(t, f, "app/colour"); string(e.Value) != "green" || e.CreateIndex != 10 || e.ModifyIndex != 15 {
		t.Fatalf("after updates: %+v", e)
	}
	// An empty value is a value.
	if r := put(t, f, 16, "app/empty", "", nil); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if e, ok := entryAt(t, f, "app/empty"); !ok || e.Value == nil || len(e.Value) != 0 {
		t.Fatalf("empty value stored as %+v (%v)", e, ok)
	}
}

func TestDeleteAndCAS(t *testing.T) {
	f := newFSM(t)
	put(t, f, 5, "k", "v", nil)
	wantCode(t, "delete with a stale cas", del(t, f, 6, "k", cas(4)), fault.Conflict, "modified at index 5, not 4")
	wantCode(t, "delete with cas=0", del(t, f, 7, "k", cas(0)), fault.Invalid, "create only")
	if r := del(t, f, 8, "k", cas(5)); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if _, ok := entryAt(t, f, "k"); ok {
		t.Fatal("deleted key still there")
	}
	wantCode(t, "delete a missing key", del(t, f, 9, "k", nil), fault.NotFound, "not found")
	wantCode(t, "delete a missing key with cas", del(t, f, 10, "k", cas(5)), fault.Conflict, "does not exist")
	// Deleted and created again: a new create index.
	put(t, f, 11, "k", "again", cas(0))
	if e, _ := entryAt(t, f, "k"); e.CreateIndex != 11 {
		t.Fatalf("recreated key %+v", e)
	}
}

func TestBoundsAtApply(t *testing.T) {
	f := newFSM(t)
	wantCode(t, "bad key", put(t, f, 1, "a/../b", "v", nil), fault.Invalid, "..")
	wantCode(t, "bad key on delete", del(t, f, 2, "/a", nil), fault.Invalid, "starts with /")
	if r := put(t, f, 3, "max", strings.Repeat("x", MaxValueLen), nil); r.Err() != nil {
		t.Fatalf("a value of exactly 64 KiB: %v", r.Err())
	}
	wantCode(t, "value over 64 KiB", put(t, f, 4, "big", strings.Repeat("x", MaxValueLen+1), nil), fault.TooLarge, "at most 65536 bytes")
	if _, ok := entryAt(t, f, "big"); ok {
		t.Fatal("an oversized value was stored")
	}
}

// TestMaxKeys fills the store to its bound in one batch: the next new key is refused with a
// conflict that says what to do, updates of existing keys still apply, and a delete makes room.
func TestMaxKeys(t *testing.T) {
	f := newFSM(t)
	logs := make([]*raft.Log, 0, MaxKeys+1)
	for i := 0; i < MaxKeys; i++ {
		logs = append(logs, logOf(t, uint64(i+1), cmdPut, PutPayload{Key: fmt.Sprintf("k/%05d", i), Value: []byte("v")}))
	}
	logs = append(logs, logOf(t, MaxKeys+1, cmdPut, PutPayload{Key: "one/more", Value: []byte("v")}))
	res := f.ApplyBatch(logs)
	for i, r := range res[:MaxKeys] {
		if err := result(t, r).Err(); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	wantCode(t, "key 10,001", result(t, res[MaxKeys]), fault.Conflict, "maximum of 10000 keys")
	idx := uint64(MaxKeys + 2)
	if r := put(t, f, idx, "k/00000", "updated", nil); r.Err() != nil {
		t.Fatalf("update at the bound: %v", r.Err())
	}
	if r := del(t, f, idx+1, "k/00001", nil); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if r := put(t, f, idx+2, "one/more", "v", nil); r.Err() != nil {
		t.Fatalf("new key after a delete: %v", r.Err())
	}
	wantCode(t, "and again over", put(t, f, idx+3, "two/more", "v", nil), fault.Conflict, "maximum")
	_ = f.Store().View(func(tx *state.Tx) error {
		if n := count(tx); n != MaxKeys {
			t.Errorf("count %d, want %d", n, MaxKeys)
		}
		return nil
	})
}

func TestListEntries(t *testing.T) {
	f := newFSM(t)
	for i, k := range []string{"a", "b/1", "b/2", "b/3", "ba", "c"} {
		put(t, f, uint64(i+1), k, strings.Repeat("x", 10), nil)
	}
	keys := func(prefix, after string, limit, maxBytes int) string {
		var out []string
		var next string
		_ = f.Store().View(func(tx *state.Tx) error {
			l, n, err := listEntries(tx, prefix, after, limit, maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range l {
				out = append(out, e.Key)
			}
			next = n
			return nil
		})
		return strings.Join(out, ",") + "|" + next
	}
	for _, tc := range []struct {
		prefix, after   string
		limit, maxBytes int
		want            string
	}{
		{"", "", 100, 1 << 20, "a,b/1,b/2,b/3,ba,c|"},
		{"b/", "", 100, 1 << 20, "b/1,b/2,b/3|"},
		{"b/", "", 2, 1 << 20, "b/1,b/2|b/2"},
		{"b/", "b/2", 2, 1 << 20, "b/3|"},
		{"b", "", 100, 1 << 20, "b/1,b/2,b/3,ba|"},
		{"", "b/3", 100, 1 << 20, "ba,c|"},
		{"b/", "a", 100, 1 << 20, "b/1,b/2,b/3|"}, // a cursor before the prefix
		{"b/", "z", 100, 1 << 20, "|"},
		{"zz", "", 100, 1 << 20, "|"},
		{"", "", 100, 15, "a,b/1|b/1"}, // the byte budget ends a page, after at least one
		{"", "", 100, 1, "a|a"},
	} {
		if got := keys(tc.prefix, tc.after, tc.limit, tc.maxBytes); got != tc.want {
			t.Errorf("list prefix=%q after=%q limit=%d bytes=%d: %s, want %s", tc.prefix, tc.after, tc.limit, tc.maxBytes, got, tc.want)
		}
	}
}
