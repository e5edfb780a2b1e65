package audit

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fieldEdits changes one field of a record each, for every field a record has (checked by
// TestFieldEditsCoverEveryField), the chain's own fields included.
var fieldEdits = map[string]func(r *Record){
	"Seq":            func(r *Record) { r.Seq++ },
	"Time":           func(r *Record) { r.Time = r.Time.Add(time.Nanosecond) },
	"Principal.Kind": func(r *Record) { r.Principal.Kind = KindRole },
	"Principal.ID":   func(r *Record) { r.Principal.ID += "x" },
	"Principal.Name": func(r *Record) { r.Principal.Name = "mallory" },
	"Action":         func(r *Record) { r.Action = "codedeploy:GetApplication" },
	"Resource":       func(r *Record) { r.Resource = "" },
	"Source":         func(r *Record) { r.Source = "10.0.0.1:1" },
	"RequestID":      func(r *Record) { r.RequestID = "req-forged" },
	"Outcome":        func(r *Record) { r.Outcome = OutcomeFailed },
	"ErrorCode":      func(r *Record) { r.ErrorCode += "internal_error" },
	"Detail":         func(r *Record) { r.Detail += "refs/heads/main" },
	"Prev":           func(r *Record) { r.Prev[31] ^= 1 },
	"Hash":           func(r *Record) { r.Hash[0] ^= 0x80 },
}

func TestFieldEditsCoverEveryField(t *testing.T) {
	var leaves []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for f := range typ.Fields() {
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
				walk(prefix+f.Name+".", f.Type)
				continue
			}
			leaves = append(leaves, prefix+f.Name)
		}
	}
	walk("", reflect.TypeFor[Record]())
	for _, name := range leaves {
		if fieldEdits[name] == nil {
			t.Errorf("Record field %s has no edit in fieldEdits: add one (and to the canonical encoding, with a new tag)", name)
		}
	}
	if len(leaves) != len(fieldEdits) {
		t.Errorf("Record has %d fields, fieldEdits edits %d", len(leaves), len(fieldEdits))
	}
}

func TestEditingAnyFieldNamesTheRecord(t *testing.T) {
	c, rs := build(12)
	for name, edit := range fieldEdits {
		for _, i := range []int{0, 5, 11} {
			edited := slices.Clone(rs)
			edit(&edited[i])
			if reflect.DeepEqual(edited[i], rs[i]) {
				t.Fatalf("edit of %s left record %d unchanged", name, i+1)
			}
			err := VerifyTo(Anchor{}, c.Head(), each(edited))
			wantBroken(t, err, uint64(i+1), ProblemEdited)
			if !strings.Contains(err.Error(), "was edited") {
				t.Fatalf("%s of record %d: message %q does not say edited", name, i+1, err)
			}
		}
	}
}

func TestDroppedRepeatedReordered(t *testing.T) {
	c, rs := build(10)
	head := c.Head()
	for _, tc := range []struct {
		name    string
		records []Record
		seq     uint64
		problem Problem
		message string
	}{
		{"first dropped", rs[1:], 1, ProblemDropped, "audit record 1 is missing (the next record is 2)"},
		{"middle dropped", without(rs, 4), 5, ProblemDropped, "audit record 5 is missing"},
		{"two dropped", slices.Concat(rs[:3], rs[5:]), 4, ProblemDropped, "audit records 4 to 5 are missing"},
		{"last dropped", rs[:9], 10, ProblemTruncated, "audit records from 10 are missing"},
		{"all dropped", nil, 1, ProblemTruncated, "ends at record 0"},
		{"duplicated", slices.Insert(slices.Clone(rs), 4, rs[3]), 5, ProblemRepeated, "audit record 4 is followed by record 4 again"},
		{"last duplicated", append(slices.Clone(rs), rs[9]), 11, ProblemRepeated, ""},
		{"swapped", slices.Concat(rs[:3], []Record{rs[4], rs[3]}, rs[5:]), 4, ProblemDropped, "reordered"},
		{"moved back", slices.Concat(rs[:2], rs[3:7], []Record{rs[2]}, rs[7:]), 3, ProblemDropped, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyTo(Anchor{}, head, each(tc.records))
			wantBroken(t, err, tc.seq, tc.problem)
			if !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("message %q does not contain %q", err, tc.message)
			}
		})
	}
}

func TestSplicedRecordsAreNamed(t *testing.T) {
	c, rs := build(10)
	// Another trail's records have valid hashes of their own and the same numbers.
	other := NewChain()
	var alien []Record
	for i := range 10 {
		r := sample(i)
		r.Source = "198.51.100.1:4000"
		alien = append(alien, other.Append(r))
	}
	spliced := slices.Concat(rs[:6], alien[6:])
	err := VerifyTo(Anchor{}, c.Head(), each(spliced))
	wantBroken(t, err, 7, ProblemSpliced)

	// Records renumbered after a swap, each rehashed but not relinked: the first out of place
	// no longer follows the one before.
	re := slices.Clone(rs)
	re[3], re[4] = re[4], re[3]
	re[3].Seq, re[4].Seq = 4, 5
	for _, i := range []int{3, 4} {
		re[i].Hash, _ = ComputeHash(nil, re[i])
	}
	err = VerifyTo(Anchor{}, c.Head(), each(re))
	wantBroken(t, err, 4, ProblemSpliced)

	// The whole trail rewritten consistently (every hash recomputed) still ends at another
	// head than the one kept apart.
	rw := slices.Clone(rs)
	rw[9].Action = "codedeploy:GetApplication"
	rw[9].Hash, _ = ComputeHash(nil, rw[9])
	if _, err := Verify(Anchor{}, each(rw)); err != nil {
		t.Fatalf("a consistently rewritten tail chains by itself: %v", err)
	}
	err = VerifyTo(Anchor{}, c.Head(), each(rw))
	wantBroken(t, err, 10, ProblemPastHead)

	// Records added past the head.
	more := append(slices.Clone(rs), NewChainAt(c).Append(sample(10)))
	err = VerifyTo(Anchor{}, c.Head(), each(more))
	wantBroken(t, err, 11, ProblemPastHead)
}

// NewChainAt copies c's position, so a test can append past a head without moving c.
func NewChainAt(c *Chain) *Chain {
	c2, _ := Resume(c.Anchor(), c.Head())
	return c2
}

func TestVerifyReturnsReaderErrors(t *testing.T) {
	_, rs := build(3)
	boom := errors.New("bolt: page read failed")
	records := func(yield func(Record, error) bool) {
		if !yield(rs[0], nil) {
			return
		}
		yield(Record{}, boom)
	}
	head, err := Verify(Anchor{}, records)
	if !errors.Is(err, boom) || errors.Is(err, ErrBroken) {
		t.Fatalf("Verify = %v, want the reader's error", err)
	}
	if head != AnchorOf(rs[0]) {
		t.Fatalf("head %d, want the last record verified (1)", head.Seq)
	}
	if err := VerifyTo(Anchor{}, AnchorOf(rs[2]), records); !errors.Is(err, boom) {
		t.Fatalf("VerifyTo = %v, want the reader's error", err)
	}
}

func TestVerifierStopsAtFirstError(t *testing.T) {
	_, rs := build(5)
	v := NewVerifier(Anchor{})
	bad := rs[1]
	bad.Action = "x"
	if err := v.Next(rs[0]); err != nil {
		t.Fatal(err)
	}
	first := v.Next(bad)
	wantBroken(t, first, 2, ProblemEdited)
	if err := v.Next(rs[2]); !errors.Is(err, first) {
		t.Fatalf("after an error Next returned %v", err)
	}
	if err := v.End(AnchorOf(rs[4])); !errors.Is(err, first) {
		t.Fatalf("after an error End returned %v", err)
	}
	if v.Head() != AnchorOf(rs[0]) {
		t.Fatal("head moved past the bad record")
	}
}
