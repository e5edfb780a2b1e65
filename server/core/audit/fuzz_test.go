package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// sameRecords reports whether a and b are the same trail as stored: equal hash inputs and hashes.
func sameRecords(a, b []Record) bool {
	return slices.EqualFunc(a, b, func(x, y Record) bool {
		return x.Hash == y.Hash && bytes.Equal(AppendHashInput(nil, x), AppendHashInput(nil, y))
	})
}

// editField changes field f of r using v: a string field becomes v, the others take bytes of v.
func editField(r *Record, f int, v string) {
	n := uint64(0)
	for _, b := range []byte(v) {
		n = n<<8 | uint64(b)
	}
	switch f % 14 {
	case 0:
		r.Seq = n
	case 1:
		r.Time = time.Unix(int64(n), int64(n%1e9)).UTC()
	case 2:
		r.Principal.Kind = Kind(v)
	case 3:
		r.Principal.ID = v
	case 4:
		r.Principal.Name = v
	case 5:
		r.Action = v
	case 6:
		r.Resource = v
	case 7:
		r.Source = v
	case 8:
		r.RequestID = v
	case 9:
		r.Outcome = Outcome(v)
	case 10:
		r.ErrorCode = v
	case 11:
		copy(r.Prev[:], v)
	case 12:
		copy(r.Hash[:], v)
	case 13:
		r.Detail = v
	}
}

// FuzzVerify mutates a valid trail of 8 records (edit a field, optionally rehashing the record;
// drop, duplicate, move, truncate; insert a record decoded from arbitrary JSON; append past the
// head) and checks that Verify never panics and that VerifyTo accepts the trail exactly when it
// is unchanged, naming a record within the trail otherwise.
func FuzzVerify(f *testing.F) {
	f.Add(uint8(0), uint8(3), uint8(0), uint8(5), "codedeploy:GetApplication", false)
	f.Add(uint8(0), uint8(7), uint8(0), uint8(12), "\x01", true)
	f.Add(uint8(1), uint8(0), uint8(0), uint8(0), "", false)
	f.Add(uint8(2), uint8(4), uint8(5), uint8(0), "", false)
	f.Add(uint8(3), uint8(2), uint8(6), uint8(0), "", false)
	f.Add(uint8(4), uint8(6), uint8(0), uint8(0), "", false)
	f.Add(uint8(5), uint8(1), uint8(0), uint8(0), `{"seq":2,"action":"x","hash":"`+string(bytes.Repeat([]byte{'0'}, 64))+`"}`, false)
	f.Add(uint8(6), uint8(0), uint8(0), uint8(0), "", false)
	c, orig := build(8)
	head := c.Head()
	f.Fuzz(func(t *testing.T, op, i, j, field uint8, value string, rehash bool) {
		rs := slices.Clone(orig)
		at, to := int(i)%len(rs), int(j)%len(rs)
		editedOnly := false
		switch op % 7 {
		case 0:
			editField(&rs[at], int(field), value)
			if rehash {
				rs[at].Hash, _ = ComputeHash(nil, rs[at])
			} else {
				editedOnly = true
			}
		case 1:
			rs = without(rs, at)
		case 2:
			rs = slices.Insert(rs, to, rs[at])
		case 3:
			r := rs[at]
			rs = slices.Insert(without(rs, at), to, r)
		case 4:
			rs = rs[:at]
		case 5:
			var r Record
			if json.Unmarshal([]byte(value), &r) != nil {
				return
			}
			if rehash {
				rs[at] = r
			} else {
				rs = slices.Insert(rs, at, r)
			}
		case 6:
			extra := NewChainAt(c)
			r := sample(int(i))
			editField(&r, int(field), value)
			rs = append(rs, extra.Append(r))
		}

		_, _ = Verify(Anchor{}, each(rs)) // must not panic, whatever the records
		err := VerifyTo(Anchor{}, head, each(rs))
		if sameRecords(rs, orig) {
			if err != nil {
				t.Fatalf("unchanged trail refused: %v", err)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("modified trail accepted or refused without naming a record: %v", err)
		}
		if e.Seq < 1 || e.Seq > uint64(len(orig))+1 {
			t.Fatalf("error names record %d, outside the trail: %v", e.Seq, err)
		}
		if editedOnly && (e.Seq != uint64(at+1) || e.Problem != ProblemEdited) {
			t.Fatalf("field %d of record %d edited, but: %v", field%13, at+1, err)
		}
	})
}

// FuzzAppendRoundTrip appends a record made of arbitrary values and checks that it is bounded,
// survives its JSON form and verifies.
func FuzzAppendRoundTrip(f *testing.F) {
	f.Add("user", "u-1", "alice", "codedeploy:GetApplication", "srn:x", "127.0.0.1:1", "req", "allowed", "", int64(0))
	f.Add("\xff\x00", "\u202e", "é€", "", "", "", "", "", "\x7f", int64(-1<<62))
	f.Fuzz(func(t *testing.T, kind, id, name, action, resource, source, reqID, outcome, code string, unix int64) {
		c := NewChain()
		r := c.Append(Record{
			Time:      time.Unix(unix, 0),
			Principal: Principal{Kind: Kind(kind), ID: id, Name: name},
			Action:    action, Resource: resource, Source: source, RequestID: reqID,
			Outcome: Outcome(outcome), ErrorCode: code,
		})
		if n := len(AppendCanonical(nil, r)); n > MaxRecordSize {
			t.Fatalf("record of %d bytes, over MaxRecordSize", n)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("stored form does not marshal: %v", err)
		}
		var back Record
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if err := VerifyTo(Anchor{}, c.Head(), each([]Record{back})); err != nil {
			t.Fatalf("record after JSON: %v\n%s", err, b)
		}
	})
}
