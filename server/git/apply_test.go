package git

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/auditlog"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// applier drives the service's commands through a state machine registered the way the server
// registers it, one log index after another.
type applier struct {
	t     *testing.T
	f     *fsm.FSM
	s     *state.Store
	index uint64
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	reg := module.NewRegistry(fsm.NewTable())
	reg.Add(&module.Core{}, New())
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &applier{t: t, f: fsm.New(s, reg.Table(), slog.New(slog.NewTextHandler(io.Discard, nil))), s: s}
}

func (a *applier) apply(c *command.Command, err error) command.Result {
	a.t.Helper()
	if err != nil {
		a.t.Fatal(err)
	}
	b, err := command.Encode(c)
	if err != nil {
		a.t.Fatal(err)
	}
	a.index++
	r, ok := a.f.Apply(&raft.Log{Index: a.index, Type: raft.LogCommand, Data: b}).(command.Result)
	if !ok {
		a.t.Fatal("apply answered no command.Result")
	}
	return r
}

var t0 = time.Unix(1700000000, 0)

func (a *applier) create(name string) (Record, error) {
	id := fmt.Sprintf("%032x", a.index+1)
	res := a.apply(cmdCreate.New("", t0, CreatePayload{ID: id, Name: name}))
	if err := res.Err(); err != nil {
		return Record{}, err
	}
	return command.Data[Record](res)
}

func (a *applier) push(p PushPayload) ([]PushOutcome, error) {
	res := a.apply(cmdPush.New("", t0, p))
	if err := res.Err(); err != nil {
		return nil, err
	}
	out, err := command.Data[PushResult](res)
	return out.Results, err
}

func (a *applier) blob(sha string) {
	a.t.Helper()
	if err := a.apply(command.New(command.TypeBlobRegister, "", t0, command.BlobRegister{SHA256: sha, Size: 10})).Err(); err != nil {
		a.t.Fatal(err)
	}
}

func (a *applier) view(fn func(tx *state.Tx)) {
	a.t.Helper()
	if err := a.s.View(func(tx *state.Tx) error { fn(tx); return nil }); err != nil {
		a.t.Fatal(err)
	}
}

func oid(n int) string { return fmt.Sprintf("%040x", n) }

func outcome(rs []PushOutcome) string {
	var parts []string
	for _, r := range rs {
		if r.OK {
			parts = append(parts, r.Ref+":ok")
		} else {
			parts = append(parts, r.Ref+":"+r.Reason)
		}
	}
	return strings.Join(parts, " ")
}

func mustCreate(t *testing.T, a *applier, name string) Record {
	t.Helper()
	r, err := a.create(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestApplyCreateChecks(t *testing.T) {
	a := newApplier(t)
	r := mustCreate(t, a, "app")
	if r.DefaultBranch != "main" || r.CreateIndex == 0 {
		t.Fatalf("created %+v", r)
	}
	if _, err := a.create("app"); fault.CodeOf(err) != fault.Conflict {
		t.Fatalf("a second app: %v, want a conflict", err)
	}
	for _, bad := range []string{"", "x.git", "a/b", "..", strings.Repeat("a", 101)} {
		if _, err := a.create(bad); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("create %q: %v, want invalid", bad, err)
		}
	}
	res := a.apply(cmdCreate.New("", t0, CreatePayload{ID: r.ID, Name: "other"}))
	if fault.CodeOf(res.Err()) != fault.Conflict {
		t.Fatalf("a reused ID: %v, want a conflict", res.Err())
	}
	res = a.apply(cmdCreate.New("", t0, CreatePayload{ID: fmt.Sprintf("%032x", 999), Name: "b", DefaultBranch: "a..b"}))
	if fault.CodeOf(res.Err()) != fault.Invalid {
		t.Fatalf("a bad default branch: %v, want invalid", res.Err())
	}
}

func TestApplyRepoCountBound(t *testing.T) {
	a := newApplier(t)
	mustCreate(t, a, "first")
	if err := a.s.Update(func(tx *state.Tx) error { return setCount(tx, MaxRepos) }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.create("one-too-many"); fault.CodeOf(err) != fault.Conflict || !strings.Contains(err.Error(), "maximum of 10000 repositories") {
		t.Fatalf("over the bound: %v", err)
	}
}

// TestApplyPushCAS: creates need the ref absent, updates and deletes need the old value; a
// failed compare-and-swap is "fetch first"; a plain push applies each ref on its own.
func TestApplyPushCAS(t *testing.T) {
	a := newApplier(t)
	r := mustCreate(t, a, "app")
	res, err := a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{
		{Ref: "refs/heads/main", Old: zeroID, New: oid(1)},
		{Ref: "refs/heads/dev", Old: zeroID, New: oid(2)},
	}})
	if err != nil || outcome(res) != "refs/heads/main:ok refs/heads/dev:ok" {
		t.Fatalf("create refs: %s, %v", outcome(res), err)
	}
	res, err = a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{
		{Ref: "refs/heads/main", Old: oid(9), New: oid(3)}, // stale
		{Ref: "refs/heads/dev", Old: oid(2), New: oid(4)},  // fine
		{Ref: "refs/heads/new", Old: oid(5), New: oid(6)},  // missing, old given
		{Ref: "refs/tags/v1", Old: zeroID, New: oid(7)},    // create
		{Ref: "refs/heads/gone", Old: zeroID, New: zeroID}, // delete of nothing: no-op
	}})
	want := "refs/heads/main:fetch first refs/heads/dev:ok refs/heads/new:fetch first refs/tags/v1:ok refs/heads/gone:ok"
	if err != nil || outcome(res) != want {
		t.Fatalf("mixed push: %s, %v", outcome(res), err)
	}
	res, _ = a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/main", Old: zeroID, New: oid(3)}}})
	if outcome(res) != "refs/heads/main:fetch first" {
		t.Fatalf("create over an existing ref: %s", outcome(res))
	}
	res, _ = a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/dev", Old: oid(4), New: zeroID}}})
	if outcome(res) != "refs/heads/dev:ok" {
		t.Fatalf("delete: %s", outcome(res))
	}
	a.view(func(tx *state.Tx) {
		got := refs(tx, r.ID)
		if len(got) != 2 || got["refs/heads/main"] != oid(1) || got["refs/tags/v1"] != oid(7) {
			t.Fatalf("refs %v", got)
		}
		rec, _, _ := getRecord(tx, r.ID)
		if rec.Refs != 2 {
			t.Fatalf("ref count %d, want 2", rec.Refs)
		}
	})
}

// TestApplyPushAtomic: one failed update fails every update of an atomic push, and nothing is
// written (the pack is not recorded either).
func TestApplyPushAtomic(t *testing.T) {
	a := newApplier(t)
	r := mustCreate(t, a, "app")
	sha := strings.Repeat("a", 64)
	a.blob(sha)
	if _, err := a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/main", Old: zeroID, New: oid(1)}}}); err != nil {
		t.Fatal(err)
	}
	res, err := a.push(PushPayload{ID: r.ID, Pack: sha, Atomic: true, Updates: []PushUpdate{
		{Ref: "refs/heads/feature", Old: zeroID, New: oid(2)},
		{Ref: "refs/heads/main", Old: oid(9), New: oid(3)},
	}})
	if err != nil || outcome(res) != "refs/heads/feature:atomic push failure refs/heads/main:fetch first" {
		t.Fatalf("atomic: %s, %v", outcome(res), err)
	}
	a.view(func(tx *state.Tx) {
		if got := refs(tx, r.ID); len(got) != 1 || got["refs/heads/main"] != oid(1) {
			t.Fatalf("refs after a failed atomic push %v", got)
		}
		if pk, _ := packs(tx, r.ID); len(pk) != 0 || tx.Blobs().Referenced(sha) {
			t.Fatalf("a failed push recorded its pack: %v", pk)
		}
	})
	res, err = a.push(PushPayload{ID: r.ID, Pack: sha, Atomic: true, Updates: []PushUpdate{
		{Ref: "refs/heads/feature", Old: zeroID, New: oid(2)},
		{Ref: "refs/heads/main", Old: oid(1), New: oid(3)},
	}})
	if err != nil || outcome(res) != "refs/heads/feature:ok refs/heads/main:ok" {
		t.Fatalf("atomic: %s, %v", outcome(res), err)
	}
	a.view(func(tx *state.Tx) {
		if pk, _ := packs(tx, r.ID); len(pk) != 1 || pk[0].SHA256 != sha || !tx.Blobs().Referenced(sha) {
			t.Fatalf("pack records %v", pk)
		}
	})
}

// TestApplyPushBounds: malformed pushes are refused whole; the per-repository ref bound and
// ref-name conflicts refuse the ref with a reason.
func TestApplyPushBounds(t *testing.T) {
	a := newApplier(t)
	r := mustCreate(t, a, "app")
	many := make([]PushUpdate, MaxRefsPerPush+1)
	for i := range many {
		many[i] = PushUpdate{Ref: fmt.Sprintf("refs/heads/b%d", i), Old: zeroID, New: oid(1)}
	}
	for name, p := range map[string]PushPayload{
		"too many":     {ID: r.ID, Updates: many},
		"none":         {ID: r.ID},
		"bad ref":      {ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/a..b", Old: zeroID, New: oid(1)}}},
		"not refs/":    {ID: r.ID, Updates: []PushUpdate{{Ref: "HEAD", Old: zeroID, New: oid(1)}}},
		"bad oid":      {ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/a", Old: zeroID, New: strings.Repeat("A", 40)}}},
		"twice":        {ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/a", Old: zeroID, New: oid(1)}, {Ref: "refs/heads/a", Old: zeroID, New: oid(2)}}},
		"no blob":      {ID: r.ID, Pack: strings.Repeat("b", 64), Updates: []PushUpdate{{Ref: "refs/heads/a", Old: zeroID, New: oid(1)}}},
		"unknown repo": {ID: strings.Repeat("f", 32), Updates: []PushUpdate{{Ref: "refs/heads/a", Old: zeroID, New: oid(1)}}},
	} {
		if _, err := a.push(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := a.push(PushPayload{ID: r.ID, Updates: many}); fault.CodeOf(err) != fault.TooLarge || !strings.Contains(err.Error(), "limit of 1000") {
		t.Errorf("too many refs: %v", err)
	}
	res, _ := a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{
		{Ref: "refs/heads/a", Old: zeroID, New: oid(1)},
		{Ref: "refs/heads/a/b", Old: zeroID, New: oid(1)},
		{Ref: "refs/heads/c/d", Old: zeroID, New: oid(1)},
	}})
	if outcome(res) != "refs/heads/a:ok refs/heads/a/b:cannot create refs/heads/a/b while refs/heads/a exists refs/heads/c/d:ok" {
		t.Fatalf("name conflicts: %s", outcome(res))
	}
	res, _ = a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/c", Old: zeroID, New: oid(1)}}})
	if outcome(res) != "refs/heads/c:cannot create refs/heads/c while refs/heads/c/d exists" {
		t.Fatalf("name conflict with a longer ref: %s", outcome(res))
	}
	if err := a.s.Update(func(tx *state.Tx) error {
		rec, _, _ := getRecord(tx, r.ID)
		rec.Refs = MaxRefsPerRepo
		return putRecord(tx, rec)
	}); err != nil {
		t.Fatal(err)
	}
	res, _ = a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{
		{Ref: "refs/heads/x", Old: zeroID, New: oid(1)},
		{Ref: "refs/heads/a", Old: oid(1), New: oid(2)},
	}})
	if !strings.Contains(outcome(res), "refs/heads/x:repository app already has its maximum of 10000 refs") || !res[1].OK {
		t.Fatalf("ref bound: %s", outcome(res))
	}
}

// TestApplyRenameAndDelete: a rename keeps the ID, refs and packs and frees the old name; a
// delete removes refs and pack records and drops the blob references.
func TestApplyRenameAndDelete(t *testing.T) {
	a := newApplier(t)
	r := mustCreate(t, a, "old")
	mustCreate(t, a, "taken")
	sha := strings.Repeat("c", 64)
	a.blob(sha)
	if _, err := a.push(PushPayload{ID: r.ID, Pack: sha, Updates: []PushUpdate{{Ref: "refs/heads/main", Old: zeroID, New: oid(1)}}}); err != nil {
		t.Fatal(err)
	}
	taken, renamed := "taken", "new"
	if err := a.apply(cmdUpdate.New("", t0, UpdatePayload{Name: "old", NewName: &taken})).Err(); fault.CodeOf(err) != fault.Conflict {
		t.Fatalf("rename onto a taken name: %v", err)
	}
	res := a.apply(cmdUpdate.New("", t0, UpdatePayload{Name: "old", NewName: &renamed}))
	if res.Err() != nil {
		t.Fatal(res.Err())
	}
	a.view(func(tx *state.Tx) {
		if _, ok, _ := recordByName(tx, "old"); ok {
			t.Error("the old name still resolves")
		}
		got, ok, _ := recordByName(tx, "new")
		if !ok || got.ID != r.ID || refs(tx, r.ID)["refs/heads/main"] != oid(1) {
			t.Errorf("renamed %+v, refs %v", got, refs(tx, r.ID))
		}
	})
	if err := a.apply(cmdDelete.New("", t0, DeletePayload{Name: "new"})).Err(); err != nil {
		t.Fatal(err)
	}
	a.view(func(tx *state.Tx) {
		pk, _ := packs(tx, r.ID)
		if _, ok, _ := getRecord(tx, r.ID); ok || len(refs(tx, r.ID)) != 0 || len(pk) != 0 || tx.Blobs().Referenced(sha) || count(tx) != 1 {
			t.Fatalf("after delete: refs %v packs %v referenced %v count %d", refs(tx, r.ID), pk, tx.Blobs().Referenced(sha), count(tx))
		}
		if _, ok, _ := recordByName(tx, "new"); ok {
			t.Fatal("the name still resolves")
		}
	})
	if err := a.apply(cmdDelete.New("", t0, DeletePayload{Name: "new"})).Err(); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("a second delete: %v", err)
	}
}

// TestApplyPushOptionsAndAudit: push options ride in the command (bounded), a push's audit
// record names every ref's old and new value and outcome, the pack and the options, and a
// payload without options (a log entry written before they existed) encodes and applies as
// before.
func TestApplyPushOptionsAndAudit(t *testing.T) {
	a := newApplier(t)
	r := mustCreate(t, a, "app")
	pack := strings.Repeat("a", 64)
	a.blob(pack)
	c, err := cmdPush.New("", t0, PushPayload{ID: r.ID, Pack: pack, Options: []string{"ci.skip", "reviewer=bob"}, Updates: []PushUpdate{
		{Ref: "refs/heads/main", Old: zeroID, New: oid(1)},
		{Ref: "refs/heads/dev", Old: oid(9), New: oid(2)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c.Caller = &command.Caller{Kind: "user", ID: "u-1", Name: "alice", Action: "codecommit:GitPush", Resource: "srn:slipway:codecommit:repo/app"}
	if err := a.apply(c, nil).Err(); err != nil {
		t.Fatal(err)
	}
	recs, _, err := auditlog.Records(a.s, auditlog.Query{Action: "codecommit:GitPush"}, 0, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit records of the push: %+v, %v", recs, err)
	}
	want := "2 refs (1 applied, 1 rejected), pack " + pack + `, push options ["ci.skip" "reviewer=bob"]: ` +
		"refs/heads/main " + zeroID + ".." + oid(1) + " ok; refs/heads/dev " + oid(9) + ".." + oid(2) + " rejected (fetch first)"
	if got := recs[0].Detail; got != want {
		t.Fatalf("audit detail\n got %s\nwant %s", got, want)
	}
	if recs[0].Outcome != "allowed" || recs[0].Principal.Name != "alice" {
		t.Fatalf("audit record %+v", recs[0])
	}

	// No options: the payload's JSON is what it was before options existed, and applies.
	old := `{"id":"` + r.ID + `","updates":[{"ref":"refs/heads/x","old":"` + zeroID + `","new":"` + oid(1) + `"}]}`
	b, err := json.Marshal(PushPayload{ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/x", Old: zeroID, New: oid(1)}}})
	if err != nil || string(b) != old {
		t.Fatalf("a push without options encodes as %s, %v; want %s", b, err, old)
	}
	res := a.apply(&command.Command{Type: cmdPush.Type(), Version: cmdPush.Version(), Time: t0, Payload: []byte(old)}, nil)
	if out, err := command.Data[PushResult](res); err != nil || outcome(out.Results) != "refs/heads/x:ok" {
		t.Fatalf("an old push entry: %+v, %v", out, err)
	}

	// Bounds.
	many := make([]string, MaxPushOptions+1)
	for name, opts := range map[string][]string{
		"too many":   many,
		"too long":   {strings.Repeat("o", MaxPushOptionLen+1)},
		"line break": {"a\nb"},
		"NUL":        {"a\x00b"},
	} {
		_, err := a.push(PushPayload{ID: r.ID, Options: opts, Updates: []PushUpdate{{Ref: "refs/heads/y", Old: zeroID, New: oid(1)}}})
		if err == nil || !strings.Contains(err.Error(), "push option") {
			t.Errorf("%s: %v, want a refusal naming the push options", name, err)
		}
	}
}
