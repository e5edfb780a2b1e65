package fsm_test

import (
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

var alice = &command.Caller{Kind: "user", ID: "u-1", Name: "alice", Action: "fsmtest:Create",
	Resource: "sample/x", Source: "10.0.0.1:4000", RequestID: "http-1"}

// callerEntry is the log entry of the sample create of name, proposed for caller.
func callerEntry(t *testing.T, index uint64, rid, name string, caller *command.Caller) *raft.Log {
	t.Helper()
	c, err := cmdSampleCreate.New(rid, time.Unix(1700000000, 5), samplePayload{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	c.Caller = caller
	return logOf(t, index, c)
}

// trail reads the stored records, the anchor and the head, and checks that they verify.
func trail(t *testing.T, f *fsm.FSM) []audit.Record {
	t.Helper()
	var out []audit.Record
	err := f.Store().View(func(tx *state.Tx) error {
		anchor, head, err := tx.AuditChain()
		if err != nil {
			return err
		}
		if err := audit.VerifyTo(anchor, head, tx.AuditRecords(anchor.Seq+1)); err != nil {
			t.Errorf("the stored trail does not verify: %v", err)
		}
		for r, err := range tx.AuditRecords(0) {
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCallerWriteLandsOneRecord: a command with a caller lands exactly one record with the
// caller's fields, the command's time and outcome allowed; a refused one a failed record with
// its code; a replayed request id none; a command without a caller none.
func TestCallerWriteLandsOneRecord(t *testing.T) {
	f := newFSM(t)
	f.Apply(callerEntry(t, 1, "rid-1", "x", alice))
	got := trail(t, f)
	if len(got) != 1 {
		t.Fatalf("%d records, want 1", len(got))
	}
	r := got[0]
	want := audit.Record{Seq: 1, Time: time.Unix(1700000000, 5).UTC(), Principal: audit.Principal{Kind: "user", ID: "u-1", Name: "alice"},
		Action: "fsmtest:Create", Resource: "sample/x", Source: "10.0.0.1:4000", RequestID: "http-1", Outcome: audit.OutcomeAllowed, Prev: r.Prev, Hash: r.Hash}
	if r != want {
		t.Fatalf("record\n got %+v\nwant %+v", r, want)
	}

	// Refused: a conflict is a failed record with its code.
	res := result(t, f.Apply(callerEntry(t, 2, "rid-2", "x", alice)))
	if res.Code == "" {
		t.Fatal("the second create was not refused")
	}
	got = trail(t, f)
	if len(got) != 2 || got[1].Outcome != audit.OutcomeFailed || got[1].ErrorCode != res.Code || got[1].Seq != 2 {
		t.Fatalf("refused write: %+v", got)
	}

	// Replayed request id: answered from memory, no second record.
	f.Apply(callerEntry(t, 3, "rid-1", "x", alice))
	// Without a caller: no record.
	f.Apply(callerEntry(t, 4, "rid-4", "y", nil))
	if got := trail(t, f); len(got) != 2 {
		t.Fatalf("%d records after a replay and a write without caller, want 2", len(got))
	}
}

// TestAuditAppendAndTrim: audit.append chains its records in order with their own times (the
// command's when zero); audit.trim removes those before the cutoff, keeps the anchor so the rest
// verifies, and trimming nothing changes nothing.
func TestAuditAppendAndTrim(t *testing.T) {
	f := newFSM(t)
	base := time.Unix(1700000000, 0)
	var entries []command.AuditEntry
	for i := range 5 {
		entries = append(entries, command.AuditEntry{Time: base.Add(time.Duration(i) * time.Hour).UnixNano(), Kind: "user", Name: "bob", Action: "deploy:DeleteApplication", Outcome: "denied", ErrorCode: "forbidden"})
	}
	entries = append(entries, command.AuditEntry{Kind: "token", Name: "ci", Outcome: "allowed"})
	c, _ := command.AuditAppendCmd.New("", base.Add(10*time.Hour), command.AuditAppend{Records: entries})
	if res := result(t, f.Apply(logOf(t, 1, c))); res.Code != "" {
		t.Fatalf("append: %+v", res)
	}
	got := trail(t, f)
	if len(got) != 6 || !got[5].Time.Equal(base.Add(10*time.Hour)) || !got[1].Time.Equal(base.Add(time.Hour)) || got[0].Outcome != audit.OutcomeDenied {
		t.Fatalf("appended %+v", got)
	}

	trim := func(index uint64, cutoff time.Time, limit int) int {
		c, _ := command.AuditTrimCmd.New("", cutoff, command.AuditTrim{Cutoff: cutoff.UnixNano(), Limit: limit})
		res := result(t, f.Apply(logOf(t, index, c)))
		v, err := command.Data[fsm.AuditTrimmed](res)
		if err != nil || res.Code != "" {
			t.Fatalf("trim: %+v %v", res, err)
		}
		return v.Trimmed
	}
	if n := trim(2, base.Add(150*time.Minute), 2); n != 2 { // records 1-3 are due; the limit takes 2
		t.Fatalf("trimmed %d, want 2", n)
	}
	if n := trim(3, base.Add(150*time.Minute), 0); n != 1 {
		t.Fatalf("trimmed %d, want 1", n)
	}
	if n := trim(4, base.Add(150*time.Minute), 0); n != 0 {
		t.Fatalf("a trim of nothing trimmed %d", n)
	}
	got = trail(t, f)
	if len(got) != 3 || got[0].Seq != 4 {
		t.Fatalf("kept %+v", got)
	}
	_ = f.Store().View(func(tx *state.Tx) error {
		anchor, head, _ := tx.AuditChain()
		if anchor.Seq != 3 || anchor.Hash != got[0].Prev || head.Seq != 6 {
			t.Errorf("anchor %+v head %+v", anchor, head)
		}
		newest := slices.Collect(seqs(tx.AuditRecordsBefore(0)))
		if !slices.Equal(newest, []uint64{6, 5, 4}) {
			t.Errorf("newest first: %v", newest)
		}
		if before := slices.Collect(seqs(tx.AuditRecordsBefore(5))); !slices.Equal(before, []uint64{4}) {
			t.Errorf("before 5: %v", before)
		}
		return nil
	})
	// Appending after a trim goes on from the head.
	f.Apply(callerEntry(t, 5, "rid-5", "z", alice))
	if got := trail(t, f); len(got) != 4 || got[3].Seq != 7 {
		t.Fatalf("after trim: %+v", got)
	}
	// Everything trimmed leaves an empty trail that still verifies and goes on.
	if n := trim(6, base.Add(1000*time.Hour), 0); n != 4 {
		t.Fatalf("trimmed %d, want 4", n)
	}
	f.Apply(callerEntry(t, 7, "rid-7", "w", alice))
	if got := trail(t, f); len(got) != 1 || got[0].Seq != 8 {
		t.Fatalf("after trimming everything: %+v", got)
	}
}

// TestAuditAppendBounded: more than MaxAuditAppend records in one command are refused, nothing
// appended.
func TestAuditAppendBounded(t *testing.T) {
	f := newFSM(t)
	c, _ := command.AuditAppendCmd.New("", time.Unix(1700000000, 0), command.AuditAppend{Records: make([]command.AuditEntry, command.MaxAuditAppend+1)})
	if res := result(t, f.Apply(logOf(t, 1, c))); res.Code == "" {
		t.Fatal("an oversize append was applied")
	}
	if got := trail(t, f); len(got) != 0 {
		t.Fatalf("%d records", len(got))
	}
}

// TestAuditIdenticalOnEveryReplica: two state machines applying the same entries, one at a time
// and in one batch, store byte-identical trails.
func TestAuditIdenticalOnEveryReplica(t *testing.T) {
	a, b := newFSM(t), newFSM(t)
	var logs []*raft.Log
	for i := range 4 {
		logs = append(logs, callerEntry(t, uint64(i+1), "", string(rune('a'+i)), alice))
	}
	for _, l := range logs {
		a.Apply(l)
	}
	b.ApplyBatch(logs)
	ta, tb := trail(t, a), trail(t, b)
	if len(ta) != 4 || !slices.Equal(ta, tb) {
		t.Fatalf("trails differ:\n%+v\n%+v", ta, tb)
	}
}

func seqs(rs iter.Seq2[audit.Record, error]) iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		for r, err := range rs {
			if err != nil || !yield(r.Seq) {
				return
			}
		}
	}
}
