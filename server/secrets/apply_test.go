package secrets

import (
	"bytes"
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

var t0 = time.Unix(1700000000, 0).UTC()

// logOf is a log entry of command d at index, made at t0+index seconds by user ana.
func logOf[T any](t *testing.T, index uint64, d command.Def[T], p T) *raft.Log {
	t.Helper()
	c, err := d.New("", t0.Add(time.Duration(index)*time.Second), p)
	if err != nil {
		t.Fatal(err)
	}
	c.Caller = &command.Caller{Kind: "user", ID: "u-1", Name: "ana", Action: ActionPutSecretValue}
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

const (
	id1 = "0123456789abcdef0123456789abcdef"
	id2 = "fedcba9876543210fedcba9876543210"
)

// sealed stands for a sealed value (apply never opens one).
func sealed(s string) []byte { return append([]byte{1, 4, 'd', 'k', '-', '1'}, s...) }

func put(t *testing.T, f *fsm.FSM, index uint64, p PutPayload) command.Result {
	t.Helper()
	if p.Sealed == nil {
		p.Sealed = sealed("v")
	}
	return result(t, f.Apply(logOf(t, index, cmdPut, p)))
}

func del(t *testing.T, f *fsm.FSM, index uint64, name string, cas *uint64) command.Result {
	t.Helper()
	return result(t, f.Apply(logOf(t, index, cmdDelete, DeletePayload{Name: name, CAS: cas})))
}

func cas(n uint64) *uint64 { return &n }
func str(s string) *string { return &s }

func secretAt(t *testing.T, f *fsm.FSM, name string) (Secret, bool) {
	t.Helper()
	var s Secret
	var ok bool
	if err := f.Store().View(func(tx *state.Tx) error {
		var err error
		s, ok, err = getSecret(tx, name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s, ok
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
	if cmdPut.Type() != 1600 || cmdPut.Name() != "secrets.put" || cmdPut.Version() != 1 ||
		cmdDelete.Type() != 1601 || cmdDelete.Name() != "secrets.delete" || cmdDelete.Version() != 1 ||
		cmdReseal.Type() != 1602 || cmdReseal.Name() != "secrets.reseal" || cmdReseal.Version() != 1 {
		t.Fatalf("commands are %d %s v%d and %d %s v%d", cmdPut.Type(), cmdPut.Name(), cmdPut.Version(), cmdDelete.Type(), cmdDelete.Name(), cmdDelete.Version())
	}
	c, _ := cmdPut.New("", t0, PutPayload{Name: "a/b", ID: id1, Version: 1, Sealed: []byte("hi"), Description: str("d"), CAS: cas(0)})
	if want := `{"name":"a/b","id":"` + id1 + `","version":1,"sealed":"aGk=","description":"d","cas":0}`; string(c.Payload) != want {
		t.Fatalf("secrets.put payload %s, want %s", c.Payload, want)
	}
	c, _ = cmdDelete.New("", t0, DeletePayload{Name: "a"})
	if string(c.Payload) != `{"name":"a"}` {
		t.Fatalf("secrets.delete payload %s", c.Payload)
	}
	if string(bucketSecrets) != "secrets/secrets" || string(bucketMeta) != "secrets/meta" {
		t.Fatalf("buckets %s %s", bucketSecrets, bucketMeta)
	}
	if got := string(sealAAD("a/b", id1, 7)); got != "secretsmanager:a/b\x00"+id1+"\x007" {
		t.Fatalf("seal AAD %q", got)
	}
}

// TestPutVersionsAndCAS: versions count from 1; a write must be sealed for the next version of
// this life of the secret; the caller's CAS is on the version; create index, time and writer stay.
func TestPutVersionsAndCAS(t *testing.T) {
	f := newFSM(t)
	r := put(t, f, 10, PutPayload{Name: "prod/db", ID: id1, Version: 1, Description: str("the database"), CAS: cas(0)})
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	s, err := command.Data[Secret](r)
	if err != nil || s.Name != "prod/db" || s.Version != 1 || s.CreateIndex != 10 || s.ModifyIndex != 10 || s.Sealed != nil ||
		!s.CreateTime.Equal(t0.Add(10*time.Second)) || s.CreatedBy != "user/ana" || s.Description != "the database" {
		t.Fatalf("created %+v, %v (the answer must not carry the sealed value)", s, err)
	}
	wantCode(t, "cas=0 on an existing secret", put(t, f, 11, PutPayload{Name: "prod/db", ID: id1, Version: 2, CAS: cas(0)}), fault.Conflict, "already exists (version 1)")
	wantCode(t, "stale cas", put(t, f, 12, PutPayload{Name: "prod/db", ID: id1, Version: 2, CAS: cas(3)}), fault.Conflict, "at version 1, not 3")
	wantCode(t, "cas on a missing secret", put(t, f, 13, PutPayload{Name: "prod/other", ID: id1, Version: 1, CAS: cas(1)}), fault.Conflict, "does not exist")
	// Sealed for a version or a life that is not the next one: stale, the service retries.
	wantCode(t, "sealed for the current version", put(t, f, 14, PutPayload{Name: "prod/db", ID: id1, Version: 1}), fault.Conflict, staleWrite)
	wantCode(t, "sealed for a later version", put(t, f, 15, PutPayload{Name: "prod/db", ID: id1, Version: 3}), fault.Conflict, staleWrite)
	wantCode(t, "sealed for another life", put(t, f, 16, PutPayload{Name: "prod/db", ID: id2, Version: 2}), fault.Conflict, staleWrite)
	wantCode(t, "a new secret sealed for version 2", put(t, f, 17, PutPayload{Name: "prod/new", ID: id2, Version: 2}), fault.Conflict, staleWrite)
	if s, _ := secretAt(t, f, "prod/db"); s.Version != 1 || s.ModifyIndex != 10 || !bytes.Equal(s.Sealed, sealed("v")) {
		t.Fatalf("refused writes changed the secret: %+v", s)
	}
	if _, ok := secretAt(t, f, "prod/new"); ok {
		t.Fatal("a refused create stored the secret")
	}
	if r := put(t, f, 18, PutPayload{Name: "prod/db", ID: id1, Version: 2, Sealed: sealed("two"), CAS: cas(1)}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	// Without a description the old one stays; an empty one clears it.
	c := logOf(t, 19, cmdPut, PutPayload{Name: "prod/db", ID: id1, Version: 3, Sealed: sealed("three")})
	if r := result(t, f.Apply(c)); r.Err() != nil {
		t.Fatal(r.Err())
	}
	s, _ = secretAt(t, f, "prod/db")
	if s.Version != 3 || s.CreateIndex != 10 || s.ModifyIndex != 19 || !s.CreateTime.Equal(t0.Add(10*time.Second)) ||
		!s.ModifyTime.Equal(t0.Add(19*time.Second)) || s.Description != "the database" || !bytes.Equal(s.Sealed, sealed("three")) {
		t.Fatalf("after updates: %+v", s)
	}
	if r := put(t, f, 20, PutPayload{Name: "prod/db", ID: id1, Version: 4, Description: str("")}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if s, _ := secretAt(t, f, "prod/db"); s.Description != "" {
		t.Fatalf("description not cleared: %q", s.Description)
	}
}

func TestDeleteAndCAS(t *testing.T) {
	f := newFSM(t)
	put(t, f, 5, PutPayload{Name: "k", ID: id1, Version: 1})
	put(t, f, 6, PutPayload{Name: "k", ID: id1, Version: 2})
	wantCode(t, "delete with a stale cas", del(t, f, 7, "k", cas(1)), fault.Conflict, "at version 2, not 1")
	wantCode(t, "delete with cas=0", del(t, f, 8, "k", cas(0)), fault.Invalid, "create only")
	if r := del(t, f, 9, "k", cas(2)); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if _, ok := secretAt(t, f, "k"); ok {
		t.Fatal("deleted secret still there")
	}
	wantCode(t, "delete a missing secret", del(t, f, 10, "k", nil), fault.NotFound, "not found")
	wantCode(t, "delete a missing secret with cas", del(t, f, 11, "k", cas(2)), fault.Conflict, "does not exist")
	// Created again: a new life, from version 1, with a new create index; the old life's ID and
	// version would not do.
	wantCode(t, "the old life's next version", put(t, f, 12, PutPayload{Name: "k", ID: id1, Version: 3}), fault.Conflict, staleWrite)
	if r := put(t, f, 13, PutPayload{Name: "k", ID: id2, Version: 1}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if s, _ := secretAt(t, f, "k"); s.CreateIndex != 13 || s.ID != id2 || s.Version != 1 {
		t.Fatalf("recreated secret %+v", s)
	}
}

func TestBoundsAtApply(t *testing.T) {
	f := newFSM(t)
	index := uint64(0)
	for _, tc := range []struct {
		what string
		p    PutPayload
		code fault.Code
		msg  string
	}{
		{"bad name", PutPayload{Name: "a/../b", ID: id1, Version: 1}, fault.Invalid, `segment ".."`},
		{"name with a space", PutPayload{Name: "a b", ID: id1, Version: 1}, fault.Invalid, "outside A-Z"},
		{"name too long", PutPayload{Name: strings.Repeat("n", MaxNameLen+1), ID: id1, Version: 1}, fault.Invalid, "names are 1-512 bytes"},
		{"bad id", PutPayload{Name: "a", ID: "XYZ", Version: 1}, fault.Invalid, "32 lowercase hex"},
		{"version 0", PutPayload{Name: "a", ID: id1}, fault.Invalid, "versions start at 1"},
		{"sealed too large", PutPayload{Name: "a", ID: id1, Version: 1, Sealed: make([]byte, maxSealedLen+1)}, fault.TooLarge, "seals to at most"},
		{"description too long", PutPayload{Name: "a", ID: id1, Version: 1, Description: str(strings.Repeat("d", MaxDescriptionLen+1))}, fault.Invalid, "at most 2048"},
	} {
		index++
		wantCode(t, tc.what, put(t, f, index, tc.p), tc.code, tc.msg)
	}
	if r := put(t, f, 20, PutPayload{Name: strings.Repeat("n", MaxNameLen), ID: id1, Version: 1, Sealed: make([]byte, maxSealedLen),
		Description: str(strings.Repeat("d", MaxDescriptionLen))}); r.Err() != nil {
		t.Fatalf("a secret at every bound: %v", r.Err())
	}
	wantCode(t, "bad name on delete", del(t, f, 21, "/a", nil), fault.Invalid, "empty path segment")
	_ = f.Store().View(func(tx *state.Tx) error {
		if n := count(tx); n != 1 {
			t.Errorf("count %d after refused puts and one good one", n)
		}
		return nil
	})
}

// TestMaxSecrets fills the store to its bound in one batch: the next new secret is refused with a
// conflict that says what to do, new versions of existing ones still apply, and a delete makes
// room.
func TestMaxSecrets(t *testing.T) {
	f := newFSM(t)
	logs := make([]*raft.Log, 0, MaxSecrets+1)
	for i := 0; i < MaxSecrets; i++ {
		logs = append(logs, logOf(t, uint64(i+1), cmdPut, PutPayload{Name: fmt.Sprintf("s/%05d", i), ID: id1, Version: 1, Sealed: sealed("v")}))
	}
	logs = append(logs, logOf(t, MaxSecrets+1, cmdPut, PutPayload{Name: "one/more", ID: id1, Version: 1, Sealed: sealed("v")}))
	res := f.ApplyBatch(logs)
	for i, r := range res[:MaxSecrets] {
		if err := result(t, r).Err(); err != nil {
			t.Fatalf("secret %d: %v", i, err)
		}
	}
	wantCode(t, "secret 10,001", result(t, res[MaxSecrets]), fault.Conflict, "maximum of 10000 secrets")
	idx := uint64(MaxSecrets + 2)
	if r := put(t, f, idx, PutPayload{Name: "s/00000", ID: id1, Version: 2}); r.Err() != nil {
		t.Fatalf("new version at the bound: %v", r.Err())
	}
	if r := del(t, f, idx+1, "s/00001", nil); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if r := put(t, f, idx+2, PutPayload{Name: "one/more", ID: id1, Version: 1}); r.Err() != nil {
		t.Fatalf("new secret after a delete: %v", r.Err())
	}
	wantCode(t, "and again over", put(t, f, idx+3, PutPayload{Name: "two/more", ID: id1, Version: 1}), fault.Conflict, "maximum")
}

// TestApplyIsDeterministic: two state machines fed the same log hold byte-identical records,
// times and writers included (they come from the log, not from the applying server).
func TestApplyIsDeterministic(t *testing.T) {
	dump := func(f *fsm.FSM) string {
		var b strings.Builder
		_ = f.Store().View(func(tx *state.Tx) error {
			return tx.Bucket(bucketSecrets).ForEach(func(k, v []byte) error {
				fmt.Fprintf(&b, "%s=%s\n", k, v)
				return nil
			})
		})
		return b.String()
	}
	var logs []*raft.Log
	logs = append(logs, logOf(t, 1, cmdPut, PutPayload{Name: "a", ID: id1, Version: 1, Sealed: sealed("1")}),
		logOf(t, 2, cmdPut, PutPayload{Name: "b", ID: id2, Version: 1, Sealed: sealed("2"), Description: str("b")}),
		logOf(t, 3, cmdPut, PutPayload{Name: "a", ID: id1, Version: 2, Sealed: sealed("3")}),
		logOf(t, 4, cmdPut, PutPayload{Name: "a", ID: id1, Version: 2, Sealed: sealed("refused")}),
		logOf(t, 5, cmdDelete, DeletePayload{Name: "b"}))
	one, two := newFSM(t), newFSM(t)
	for _, l := range logs {
		one.Apply(l)
	}
	time.Sleep(time.Millisecond) // a different wall clock must not matter
	two.ApplyBatch(logs)
	if a, b := dump(one), dump(two); a != b || !strings.Contains(a, `"version":2`) || strings.Contains(a, "refused") {
		t.Fatalf("the state machines differ or are wrong:\n%s\n---\n%s", a, b)
	}
}

func TestListSecrets(t *testing.T) {
	f := newFSM(t)
	for i, n := range []string{"a", "b/1", "b/2", "b/3", "ba", "c"} {
		put(t, f, uint64(i+1), PutPayload{Name: n, ID: id1, Version: 1})
	}
	names := func(prefix, after string, limit int) string {
		var out []string
		var next string
		_ = f.Store().View(func(tx *state.Tx) error {
			l, n, err := listSecrets(tx, prefix, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range l {
				out = append(out, s.Name)
			}
			next = n
			return nil
		})
		return strings.Join(out, ",") + "|" + next
	}
	for _, tc := range []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{"", "", 100, "a,b/1,b/2,b/3,ba,c|"},
		{"b/", "", 100, "b/1,b/2,b/3|"},
		{"b/", "", 2, "b/1,b/2|b/2"},
		{"b/", "b/2", 2, "b/3|"},
		{"", "b/3", 100, "ba,c|"},
		{"b/", "a", 100, "b/1,b/2,b/3|"},
		{"zz", "", 100, "|"},
	} {
		if got := names(tc.prefix, tc.after, tc.limit); got != tc.want {
			t.Errorf("list prefix=%q after=%q limit=%d: %s, want %s", tc.prefix, tc.after, tc.limit, got, tc.want)
		}
	}
}

// TestReseal: a reseal replaces the sealed value of the version it was read at, and nothing else;
// a secret replaced or deleted since is a conflict that changes nothing.
func TestReseal(t *testing.T) {
	f := newFSM(t)
	put(t, f, 1, PutPayload{Name: "a", ID: id1, Version: 1, Sealed: sealed("old key")})
	before, _ := secretAt(t, f, "a")
	if r := result(t, f.Apply(logOf(t, 2, cmdReseal, ResealPayload{Name: "a", ID: id1, Version: 1, Sealed: sealed("new key")}))); r.Err() != nil {
		t.Fatal(r.Err())
	}
	after, _ := secretAt(t, f, "a")
	if !bytes.Equal(after.Sealed, sealed("new key")) {
		t.Fatalf("not resealed: %q", after.Sealed)
	}
	after.Sealed = before.Sealed
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a reseal changed more than the sealed value: %+v, was %+v", after, before)
	}
	put(t, f, 3, PutPayload{Name: "a", ID: id1, Version: 2, Sealed: sealed("v2")})
	wantCode(t, "reseal of a replaced version", result(t, f.Apply(logOf(t, 4, cmdReseal, ResealPayload{Name: "a", ID: id1, Version: 1, Sealed: sealed("x")}))), fault.Conflict, "no longer at version 1")
	wantCode(t, "reseal of another life", result(t, f.Apply(logOf(t, 5, cmdReseal, ResealPayload{Name: "a", ID: id2, Version: 2, Sealed: sealed("x")}))), fault.Conflict, "no longer")
	wantCode(t, "reseal of a missing secret", result(t, f.Apply(logOf(t, 6, cmdReseal, ResealPayload{Name: "b", ID: id1, Version: 1, Sealed: sealed("x")}))), fault.Conflict, "no longer")
	if s, _ := secretAt(t, f, "a"); !bytes.Equal(s.Sealed, sealed("v2")) {
		t.Fatalf("refused reseals changed the value: %q", s.Sealed)
	}
}
