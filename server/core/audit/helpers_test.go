package audit

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"testing"
	"time"
)

// base is the time of the first sample record.
var base = time.Date(2026, time.November, 3, 9, 30, 0, 123456789, time.UTC)

// sample returns the i-th request of a made-up workload: a few users, tokens and a host, a mix
// of outcomes, one minute apart.
func sample(i int) Record {
	users := []Principal{
		{Kind: KindUser, ID: "u-1", Name: "alice"},
		{Kind: KindUser, ID: "u-2", Name: "bob"},
		{Kind: KindToken, ID: "acc-ci", Name: "ci"},
		{Kind: KindHost, ID: "h-7", Name: "web-7"},
	}
	r := Record{
		Time:      base.Add(time.Duration(i) * time.Minute),
		Principal: users[i%len(users)],
		Action:    "codedeploy:CreateDeployment",
		Resource:  fmt.Sprintf("srn:slipway:codedeploy:app/shop-%d", i%3),
		Source:    "192.0.2.10:51234",
		RequestID: fmt.Sprintf("req-%04d", i),
		Outcome:   OutcomeAllowed,
	}
	if i%5 == 4 {
		r.Outcome, r.ErrorCode = OutcomeDenied, "forbidden"
	}
	return r
}

// build appends n sample records to a new chain.
func build(n int) (*Chain, []Record) {
	c := NewChain()
	rs := make([]Record, 0, n)
	for i := range n {
		rs = append(rs, c.Append(sample(i)))
	}
	return c, rs
}

// each yields the records of rs in order, with no error.
func each(rs []Record) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// wantBroken asserts that err is an *Error naming record seq with problem p.
func wantBroken(t *testing.T, err error, seq uint64, p Problem) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want an *audit.Error naming record %d as %s", err, seq, p)
	}
	if !errors.Is(err, ErrBroken) {
		t.Fatalf("%v does not match ErrBroken", err)
	}
	if e.Seq != seq || e.Problem != p {
		t.Fatalf("got %q (record %d, %s), want record %d, %s", err, e.Seq, e.Problem, seq, p)
	}
}

// without returns rs with the element at i removed, in a new slice.
func without(rs []Record, i int) []Record { return slices.Delete(slices.Clone(rs), i, i+1) }
