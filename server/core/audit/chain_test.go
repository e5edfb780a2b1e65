package audit

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestChainRoundTrip(t *testing.T) {
	c, rs := build(50)
	for i, r := range rs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has Seq %d", i+1, r.Seq)
		}
	}
	if rs[0].Prev != (Digest{}) {
		t.Fatalf("record 1 has Prev %s, want zero", rs[0].Prev)
	}
	if rs[1].Prev != rs[0].Hash {
		t.Fatal("record 2 does not link to record 1")
	}
	if got, want := c.Head(), AnchorOf(rs[49]); got != want {
		t.Fatalf("head %+v, want %+v", got, want)
	}
	if c.Len() != 50 || c.Anchor() != (Anchor{}) {
		t.Fatalf("Len %d, Anchor %+v", c.Len(), c.Anchor())
	}
	head, err := Verify(Anchor{}, each(rs))
	if err != nil || head != c.Head() {
		t.Fatalf("Verify = %+v, %v; want head %+v", head, err, c.Head())
	}
	if err := VerifyTo(Anchor{}, c.Head(), each(rs)); err != nil {
		t.Fatal(err)
	}

	// The JSON form is what the state stores and `audit export` writes: it must give back the
	// same records and the same hashes.
	var back []Record
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var r2 Record
		if err := json.Unmarshal(b, &r2); err != nil {
			t.Fatal(err)
		}
		back = append(back, r2)
	}
	if !reflect.DeepEqual(back, rs) {
		t.Fatalf("JSON round trip changed records:\n%+v\n%+v", back[0], rs[0])
	}
	if err := VerifyTo(Anchor{}, c.Head(), each(back)); err != nil {
		t.Fatalf("records read back from JSON: %v", err)
	}
}

func TestAppendIgnoresCallersChainFields(t *testing.T) {
	c := NewChain()
	r := sample(0)
	r.Seq, r.Prev, r.Hash = 99, Digest{1}, Digest{2}
	got := c.Append(r)
	if got.Seq != 1 || got.Prev != (Digest{}) {
		t.Fatalf("Append kept the caller's Seq %d or Prev %s", got.Seq, got.Prev)
	}
	if sum, _ := ComputeHash(nil, got); sum != got.Hash {
		t.Fatal("Append's Hash is not the record's hash")
	}
}

func TestAppendIsDeterministic(t *testing.T) {
	// Two servers applying the same commands must store the same bytes: nothing comes from a
	// clock or from the time's location.
	_, a := build(20)
	c := NewChain()
	for i := range 20 {
		r := sample(i)
		r.Time = r.Time.In(time.FixedZone("elsewhere", 5*3600))
		if got := c.Append(r); got.Hash != a[i].Hash || !got.Time.Equal(a[i].Time) || got.Time.Location() != time.UTC {
			t.Fatalf("record %d differs when its time is given in another zone", i+1)
		}
	}
}

func TestTrimThenVerifyFromAnchor(t *testing.T) {
	c, rs := build(100)
	// Keep the last 30 minutes: records 0-69 are older.
	cutoff := base.Add(70 * time.Minute)
	last, ok, err := TrimPoint(each(rs), cutoff, 0)
	if err != nil || !ok || last.Seq != 70 {
		t.Fatalf("TrimPoint = record %d, %v, %v; want record 70", last.Seq, ok, err)
	}
	if err := c.Trim(last); err != nil {
		t.Fatal(err)
	}
	kept := rs[70:]
	if c.Anchor() != AnchorOf(rs[69]) || c.Len() != 30 {
		t.Fatalf("after trim: anchor %+v, len %d", c.Anchor(), c.Len())
	}
	if err := VerifyTo(c.Anchor(), c.Head(), each(kept)); err != nil {
		t.Fatalf("verify after trim: %v", err)
	}
	// The zero anchor no longer fits: the first kept record names the records trimmed.
	_, err = Verify(Anchor{}, each(kept))
	wantBroken(t, err, 1, ProblemDropped)
	// Dropping the first kept record is still seen.
	_, err = Verify(c.Anchor(), each(kept[1:]))
	wantBroken(t, err, 71, ProblemDropped)
	// An anchor with the right number and a wrong hash is seen at the first kept record.
	_, err = Verify(Anchor{Seq: 70, Hash: Digest{9}}, each(kept))
	wantBroken(t, err, 71, ProblemSpliced)

	// A restarted server resumes from the saved anchor and head and the chain goes on.
	c2, err := Resume(c.Anchor(), c.Head())
	if err != nil {
		t.Fatal(err)
	}
	more := append([]Record(nil), kept...)
	for i := 100; i < 110; i++ {
		more = append(more, c2.Append(sample(i)))
	}
	if err := VerifyTo(c2.Anchor(), c2.Head(), each(more)); err != nil {
		t.Fatal(err)
	}

	// Trimming everything leaves an empty chain that verifies and appends on.
	if err := c2.Trim(more[len(more)-1]); err != nil {
		t.Fatal(err)
	}
	if c2.Len() != 0 || c2.Anchor() != c2.Head() {
		t.Fatalf("after trimming all: len %d, anchor %+v, head %+v", c2.Len(), c2.Anchor(), c2.Head())
	}
	if err := VerifyTo(c2.Anchor(), c2.Head(), each(nil)); err != nil {
		t.Fatal(err)
	}
	next := c2.Append(sample(110))
	if next.Seq != 111 || next.Prev != more[len(more)-1].Hash {
		t.Fatalf("append after trimming all: seq %d", next.Seq)
	}
}

func TestTrimRefusals(t *testing.T) {
	c, rs := build(10)
	if err := c.Trim(rs[3]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    Record
		want string
	}{
		{"already trimmed", rs[2], "keeps records 5 to 10"},
		{"the anchor itself", rs[3], "keeps records 5 to 10"},
		{"after the head", Record{Seq: 11}, "keeps records 5 to 10"},
		{"head with another hash", Record{Seq: 10, Hash: Digest{1}}, "is not the head's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Trim(tc.r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Trim = %v, want an error containing %q", err, tc.want)
			}
			if c.Anchor() != AnchorOf(rs[3]) {
				t.Fatal("a refused trim moved the anchor")
			}
		})
	}
}

func TestTrimPoint(t *testing.T) {
	_, rs := build(10)
	if _, ok, _ := TrimPoint(each(rs), base, 0); ok {
		t.Fatal("nothing is older than the first record, yet TrimPoint found a point")
	}
	if last, _, _ := TrimPoint(each(rs), base.Add(time.Hour), 0); last.Seq != 10 {
		t.Fatalf("everything older: got %d", last.Seq)
	}
	if last, _, _ := TrimPoint(each(rs), base.Add(time.Hour), 4); last.Seq != 4 {
		t.Fatalf("limit 4: got %d", last.Seq)
	}
	// A record out of time order (a leader with a slow clock) stops the trim: the records
	// after it wait, so the kept records stay a contiguous tail of the chain.
	skewed := NewChain()
	var ss []Record
	for i := range 6 {
		r := sample(i)
		if i == 2 {
			r.Time = base.Add(time.Hour)
		}
		ss = append(ss, skewed.Append(r))
	}
	if last, _, _ := TrimPoint(each(ss), base.Add(30*time.Minute), 0); last.Seq != 2 {
		t.Fatalf("skewed: got %d, want 2", last.Seq)
	}
	boom := errors.New("read failed")
	fail := func(yield func(Record, error) bool) { yield(Record{}, boom) }
	if _, _, err := TrimPoint(fail, base, 0); !errors.Is(err, boom) {
		t.Fatalf("reader error: %v", err)
	}
}

func TestResumeRefusesImpossibleState(t *testing.T) {
	if _, err := Resume(Anchor{Seq: 5}, Anchor{Seq: 4}); err == nil {
		t.Fatal("head before anchor accepted")
	}
	if _, err := Resume(Anchor{Seq: 5, Hash: Digest{1}}, Anchor{Seq: 5, Hash: Digest{2}}); err == nil {
		t.Fatal("same record with two hashes accepted")
	}
	c, err := Resume(Anchor{}, Anchor{})
	if err != nil || c.Append(sample(0)).Seq != 1 {
		t.Fatalf("Resume of an empty trail: %v", err)
	}
}
