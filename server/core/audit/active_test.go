package audit

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestActiveUsers(t *testing.T) {
	nov := time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration, p Principal, o Outcome) Record {
		return Record{Time: nov.Add(d), Principal: p, Action: "codedeploy:GetApplication", Outcome: o}
	}
	alice := Principal{Kind: KindUser, ID: "u-1", Name: "alice"}
	aliceRenamed := Principal{Kind: KindUser, ID: "u-1", Name: "alice.smith"}
	bob := Principal{Kind: KindUser, ID: "u-2", Name: "bob"}
	ci := Principal{Kind: KindToken, ID: "acc-1", Name: "ci"}
	legacy := Principal{Kind: KindToken, Name: "management"}
	host := Principal{Kind: KindHost, ID: "h-1", Name: "web-1"}
	anon := Principal{Kind: KindAnonymous}
	c := NewChain()
	var rs []Record
	for _, r := range []Record{
		at(-time.Nanosecond, alice, OutcomeAllowed),   // October: not counted
		at(0, bob, OutcomeDenied),                     // first instant of November, denied: counted
		at(time.Hour, alice, OutcomeAllowed),          //
		at(2*time.Hour, host, OutcomeAllowed),         // a host acting as itself: not a user
		at(3*time.Hour, anon, OutcomeDenied),          // did not authenticate
		at(4*time.Hour, ci, OutcomeFailed),            //
		at(5*time.Hour, legacy, OutcomeAllowed),       // no ID: known by name
		at(6*time.Hour, aliceRenamed, OutcomeAllowed), // same ID, renamed
		at(30*24*time.Hour-1, legacy, OutcomeAllowed), // last instant of November
		at(30*24*time.Hour, bob, OutcomeAllowed),      // December
	} {
		rs = append(rs, c.Append(r))
	}
	m, err := ParseMonth("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ActiveUsers(each(rs), m)
	if err != nil {
		t.Fatal(err)
	}
	want := []ActiveUser{
		{Principal: ci, Requests: 1, First: nov.Add(4 * time.Hour), Last: nov.Add(4 * time.Hour)},
		{Principal: legacy, Requests: 2, First: nov.Add(5 * time.Hour), Last: nov.Add(30*24*time.Hour - 1)},
		{Principal: aliceRenamed, Requests: 2, First: nov.Add(time.Hour), Last: nov.Add(6 * time.Hour)},
		{Principal: bob, Requests: 1, First: nov, Last: nov},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

	none, err := ActiveUsers(each(rs), Month{Year: 2025, Month: time.November})
	if err != nil || len(none) != 0 {
		t.Fatalf("a month with no records: %+v, %v", none, err)
	}
	boom := errors.New("read failed")
	if _, err := ActiveUsers(func(yield func(Record, error) bool) { yield(Record{}, boom) }, m); !errors.Is(err, boom) {
		t.Fatalf("reader error: %v", err)
	}
}

func TestParseMonth(t *testing.T) {
	m, err := ParseMonth("2026-11")
	if err != nil || m != (Month{2026, time.November}) || m.String() != "2026-11" {
		t.Fatalf("ParseMonth = %+v, %v", m, err)
	}
	if got := (Month{2026, time.December}).End(); !got.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("December ends %v", got)
	}
	for _, bad := range []string{"", "2026-13", "2026-1", "11-2026", "2026-11-01", "november"} {
		if _, err := ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) accepted", bad)
		} else if want := "write it as YYYY-MM"; !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMonth(%q): %v does not say %q", bad, err, want)
		}
	}
}
