package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// hostileValues are strings that every quoting rule of encoding/json touches.
var hostileValues = []string{"", "plain", `quo"te\back`, "<script>&amp;", "tab\tnew\nline\rcr\bbs\fff\x00\x01\x1f\x7f",
	"bad utf8 \xff\xfe end", "line\u2028sep\u2029para", "é日本🙂", "\xe2\x80", "…", "\u202e bidi"}

// TestAppendJSONIsMarshal: AppendJSON writes exactly what json.Marshal writes, for sample
// records, records with every field empty or set, and hostile strings in every field, raw and
// bounded.
func TestAppendJSONIsMarshal(t *testing.T) {
	var records []Record
	_, rs := build(20)
	records = append(records, rs...)
	records = append(records, Record{}, Record{Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Seq: 1<<64 - 1})
	for i, v := range hostileValues {
		r := Record{Seq: uint64(i), Time: base.Add(time.Duration(i) * time.Nanosecond),
			Principal: Principal{Kind: Kind(v), ID: v, Name: v}, Action: v, Resource: v, Source: v, RequestID: v, Outcome: Outcome(v), ErrorCode: v, Detail: v}
		r.Prev[0], r.Hash[31] = byte(i), 0xab
		records = append(records, r, Bound(r))
	}
	for _, r := range records {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendJSON(nil, r); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
	}
}

// FuzzAppendJSON: for any field values, AppendJSON equals json.Marshal.
func FuzzAppendJSON(f *testing.F) {
	for _, v := range hostileValues {
		f.Add(v, v, int64(0), uint64(1))
	}
	f.Fuzz(func(t *testing.T, a, b string, unix int64, seq uint64) {
		r := Record{Seq: seq, Time: time.Unix(unix%253402300799, 0).UTC(), Principal: Principal{Kind: Kind(a), ID: b, Name: a},
			Action: b, Resource: a, Source: b, RequestID: a, Outcome: Outcome(b), ErrorCode: a, Detail: b}
		want, err := json.Marshal(r)
		if err != nil {
			return // a time json cannot write (a negative year): Bound's records never have one
		}
		if got := AppendJSON(nil, r); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	_, rs := build(1)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], rs[0])
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	_, rs := build(1)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = json.Marshal(rs[0])
	}
}
