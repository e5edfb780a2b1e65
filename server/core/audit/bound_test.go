package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// hostile returns a record with every field far past its bound, full of characters a record
// must not keep.
func hostile() Record {
	long := strings.Repeat("é\x00\u202e\xff", 1<<18) // 1.5 MiB: two-byte, control, bidi, invalid
	return Record{
		Time:      time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC),
		Principal: Principal{Kind: Kind(long), ID: long, Name: long},
		Action:    long, Resource: long, Source: long, RequestID: long,
		Outcome: Outcome(long), ErrorCode: long, Detail: long,
	}
}

func TestBoundKeepsEveryFieldWithinItsBound(t *testing.T) {
	r := NewChain().Append(hostile())
	fields := []struct {
		name  string
		value string
		max   int
	}{
		{"kind", string(r.Principal.Kind), MaxKindLen},
		{"id", r.Principal.ID, MaxIDLen},
		{"name", r.Principal.Name, MaxNameLen},
		{"action", r.Action, MaxActionLen},
		{"resource", r.Resource, MaxResourceLen},
		{"source", r.Source, MaxSourceLen},
		{"request id", r.RequestID, MaxRequestIDLen},
		{"outcome", string(r.Outcome), MaxOutcomeLen},
		{"error code", r.ErrorCode, MaxErrorCodeLen},
		{"detail", r.Detail, MaxDetailLen},
	}
	for _, f := range fields {
		if len(f.value) > f.max || !strings.HasSuffix(f.value, CutMarker) || !utf8.ValidString(f.value) {
			t.Errorf("%s: %d bytes %q, want at most %d, valid UTF-8, ending in the cut marker", f.name, len(f.value), f.value, f.max)
		}
		if strings.ContainsAny(f.value, "\x00\u202e") {
			t.Errorf("%s kept a control or bidi character: %q", f.name, f.value)
		}
	}
	if n := len(AppendCanonical(nil, r)); n > MaxRecordSize {
		t.Errorf("canonical encoding of a bounded record is %d bytes, over MaxRecordSize %d", n, MaxRecordSize)
	}
	if !r.Time.Equal(maxTime) {
		t.Errorf("time of year 20000 kept as %v, want clamped to %v", r.Time, maxTime)
	}
	if got := Bound(r); !reflect.DeepEqual(got, r) {
		t.Error("Bound is not idempotent")
	}
	// The stored form round-trips through JSON and still verifies.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(Anchor{}, each([]Record{back})); err != nil {
		t.Fatalf("hostile record after JSON: %v", err)
	}
}

func TestBoundCutsAtCharacterBoundary(t *testing.T) {
	// 127 bytes of 'a' then a three-byte character: the cut must not split it.
	s := strings.Repeat("a", 126) + "€€"
	got := boundString(s, MaxActionLen)
	if !utf8.ValidString(got) || len(got) > MaxActionLen || got != strings.Repeat("a", 125)+CutMarker {
		t.Fatalf("got %q (%d bytes)", got, len(got))
	}
	if exact := strings.Repeat("a", MaxActionLen); boundString(exact, MaxActionLen) != exact {
		t.Fatal("a value at its bound was cut")
	}
}

func TestBoundKeepsOrdinaryValues(t *testing.T) {
	r := sample(3)
	r.Principal.Name = "Zoë 山田"
	r.Source = "[2001:db8::1]:443"
	if got := Bound(r); !reflect.DeepEqual(got, r) {
		t.Fatalf("Bound changed an ordinary record:\n%+v\n%+v", got, r)
	}
	early := Bound(Record{Time: time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)})
	if !early.Time.Equal(minTime) {
		t.Fatalf("time before year 1 kept as %v", early.Time)
	}
}
