package auditlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// fakeProposer records the audit.append commands it is given; fail makes the next n calls
// fail as a cluster without a leader does.
type fakeProposer struct {
	mu    sync.Mutex
	cmds  []command.AuditAppend
	rids  []string
	fail  int
	calls chan struct{}
}

func newFake() *fakeProposer { return &fakeProposer{calls: make(chan struct{}, 1000)} }

func (f *fakeProposer) Apply(_ context.Context, c *command.Command) (command.Result, error) {
	defer func() { f.calls <- struct{}{} }()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rids = append(f.rids, c.RequestID)
	if f.fail > 0 {
		f.fail--
		return command.Result{}, fault.New(fault.NoLeader, "no leader")
	}
	p, err := command.AuditAppendCmd.Decode(c)
	if err != nil {
		return command.Result{}, err
	}
	f.cmds = append(f.cmds, p)
	return command.Result{Index: uint64(len(f.cmds))}, nil
}

func (f *fakeProposer) entries() []command.AuditEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []command.AuditEntry
	for _, c := range f.cmds {
		out = append(out, c.Records...)
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func fixedNow() time.Time { return time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC) }

// runUntil runs w until the fake holds want entries.
func runUntil(t *testing.T, w *Writer, f *fakeProposer, want int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.After(10 * time.Second)
	for len(f.entries()) < want {
		select {
		case <-f.calls:
		case <-deadline:
			t.Fatalf("the writer proposed %d entries, want %d", len(f.entries()), want)
		}
	}
}

func rec(i int) audit.Record {
	return audit.Record{Time: fixedNow().Add(time.Duration(i)), Principal: audit.Principal{Kind: audit.KindUser, Name: fmt.Sprint("u", i)},
		Action: "codedeploy:DeleteApplication", Outcome: audit.OutcomeDenied, ErrorCode: "forbidden"}
}

// TestWriterBatches: queued records are proposed in order, at most MaxAuditAppend per command.
func TestWriterBatches(t *testing.T) {
	f := newFake()
	w := NewWriter(f, fixedNow, quiet)
	n := 2*command.MaxAuditAppend + 10
	for i := range n {
		w.Record(rec(i))
	}
	runUntil(t, w, f, n)
	got := f.entries()
	for i, e := range got {
		if e.Name != fmt.Sprint("u", i) || e.Time != rec(i).Time.UnixNano() || e.Outcome != "denied" || e.ErrorCode != "forbidden" {
			t.Fatalf("entry %d is %+v", i, e)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.cmds) != 3 {
		t.Fatalf("%d commands for %d records, want 3", len(f.cmds), n)
	}
	for _, c := range f.cmds {
		if len(c.Records) > command.MaxAuditAppend {
			t.Fatalf("a command carries %d records", len(c.Records))
		}
	}
}

// TestWriterDropsWhenFullAndSaysSo: past the queue's bound records are dropped without
// blocking, and the next batch starts with one record counting them.
func TestWriterDropsWhenFullAndSaysSo(t *testing.T) {
	f := newFake()
	w := NewWriter(f, fixedNow, quiet)
	w.max = 5
	for i := range 12 {
		w.Record(rec(i)) // never blocks: nothing runs yet
	}
	runUntil(t, w, f, 6)
	got := f.entries()
	if len(got) != 6 {
		t.Fatalf("%d entries, want 6", len(got))
	}
	d := got[0]
	if d.Outcome != "failed" || d.ErrorCode != DroppedErrorCode || d.Resource != "7 records were dropped: audit queue full" || d.Time != fixedNow().UnixNano() {
		t.Fatalf("dropped record %+v", d)
	}
	for i, e := range got[1:] {
		if e.Name != fmt.Sprint("u", i) {
			t.Fatalf("entry %d is %+v", i+1, e)
		}
	}
}

// TestWriterRetriesWithTheSameRequestID: a batch that fails to apply is proposed again with the
// same request id (so the FSM applies it once), and nothing is lost.
func TestWriterRetriesWithTheSameRequestID(t *testing.T) {
	f := newFake()
	f.fail = 2
	w := NewWriter(f, fixedNow, quiet)
	w.Record(rec(0))
	runUntil(t, w, f, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rids) != 3 || f.rids[0] != f.rids[1] || f.rids[1] != f.rids[2] || f.rids[0] == "" {
		t.Fatalf("request ids %v", f.rids)
	}
}

// TestSeenOncePerPrincipalPerDay: the first request of each principal per UTC day is recorded,
// later ones that day are not, a new day starts again, hosts and anonymous requests never are.
func TestSeenOncePerPrincipalPerDay(t *testing.T) {
	f := newFake()
	w := NewWriter(f, fixedNow, quiet)
	day1 := time.Date(2026, 11, 3, 23, 59, 0, 0, time.UTC)
	alice := audit.Principal{Kind: audit.KindUser, ID: "u-1", Name: "alice"}
	w.Seen(alice, "codedeploy:ListApplications", "app/*", "10.0.0.1", "r1", day1)
	w.Seen(alice, "codedeploy:GetApplication", "app/shop", "10.0.0.1", "r2", day1.Add(time.Second))
	w.Seen(audit.Principal{Kind: audit.KindUser, ID: "u-1", Name: "alice2"}, "x:Y", "", "", "r3", day1) // same ID, renamed: same principal
	w.Seen(audit.Principal{Kind: audit.KindToken, Name: "ci"}, "x:Y", "", "", "r4", day1)
	w.Seen(audit.Principal{Kind: audit.KindToken, Name: "ci"}, "x:Y", "", "", "r5", day1)
	w.Seen(audit.Principal{Kind: audit.KindHost, ID: "h"}, "agent:OpenSession", "", "", "r6", day1)
	w.Seen(audit.Principal{Kind: audit.KindAnonymous}, "x:Y", "", "", "r7", day1)
	w.Seen(alice, "x:Y", "", "", "r8", day1.Add(2*time.Minute)) // the next UTC day
	w.Seen(alice, "x:Y", "", "", "r9", day1)                    // late, from the day before: already recorded
	runUntil(t, w, f, 3)
	got := f.entries()
	var rids []string
	for _, e := range got {
		rids = append(rids, e.RequestID)
		if e.Outcome != "allowed" {
			t.Errorf("activity record %+v", e)
		}
	}
	if fmt.Sprint(rids) != "[r1 r4 r8]" {
		t.Fatalf("recorded %v, want [r1 r4 r8]", rids)
	}
	if got[0].Action != "codedeploy:ListApplications" || got[0].Resource != "app/*" || got[0].Source != "10.0.0.1" || got[0].Time != day1.UnixNano() {
		t.Fatalf("activity record %+v", got[0])
	}
	if len(w.seen) != 1 {
		t.Fatalf("the writer remembers %d principals after the day changed, want 1", len(w.seen))
	}
}

// TestWriterStopsWithItsContext: Run returns when ctx ends, also while a batch is failing.
func TestWriterStopsWithItsContext(t *testing.T) {
	f := newFake()
	f.fail = 1 << 30
	w := NewWriter(f, fixedNow, quiet)
	w.Record(rec(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	<-f.calls
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal(ctx.Err())
	}
}
