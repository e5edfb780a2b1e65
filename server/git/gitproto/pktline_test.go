package gitproto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestPacketsRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	must(t, w.Line("hello"))
	must(t, w.Data([]byte{}))
	must(t, w.Delim())
	must(t, w.Data([]byte("raw\x00bytes")))
	must(t, w.Flush())
	must(t, w.ResponseEnd())
	want := "000ahello\n0004" + "0001" + "000draw\x00bytes" + "0000" + "0002"
	if b.String() != want {
		t.Fatalf("wrote %q, want %q", b.String(), want)
	}
	b.WriteString("PACK-rest")

	r := NewReader(&b)
	type pkt struct {
		kind Kind
		data string
	}
	wantPkts := []pkt{{Data, "hello\n"}, {Data, ""}, {Delim, ""}, {Data, "raw\x00bytes"}, {Flush, ""}, {ResponseEnd, ""}}
	for i, w := range wantPkts {
		k, p, err := r.Next()
		if err != nil || k != w.kind || string(p) != w.data {
			t.Fatalf("packet %d: got %v %q %v, want %v %q", i, k, p, err, w.kind, w.data)
		}
	}
	if r.Consumed() != int64(len(want)) {
		t.Fatalf("consumed %d bytes, want %d", r.Consumed(), len(want))
	}
	if rest, _ := io.ReadAll(&b); string(rest) != "PACK-rest" {
		t.Fatalf("the reader read ahead: rest is %q", rest)
	}
}

func TestReaderLengths(t *testing.T) {
	max := "fff0" + strings.Repeat("x", MaxPayloadLen)
	tests := []struct {
		name    string
		in      string
		wantErr error // nil: a data packet
	}{
		{"largest packet", max, nil},
		{"uppercase hex", "000AHELLO\n", nil},
		{"one over the limit", "fff1" + strings.Repeat("x", MaxPayloadLen+1), ErrMalformed},
		{"0003", "0003", ErrMalformed},
		{"not hex", "00g5x", ErrMalformed},
		{"sign", "-005x", ErrMalformed},
		{"empty input", "", io.EOF},
		{"short header", "00", io.ErrUnexpectedEOF},
		{"short payload", "000ahel", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, _, err := NewReader(strings.NewReader(tt.in)).Next()
			if tt.wantErr == nil {
				if err != nil || k != Data {
					t.Fatalf("got %v %v, want a data packet", k, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestWriterRefusesOversizedPayload(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Data(make([]byte, MaxPayloadLen+1)); err == nil {
		t.Fatal("a payload over the limit was written")
	}
	if err := w.Line(strings.Repeat("x", MaxPayloadLen)); err == nil {
		t.Fatal("a line over the limit (with its LF) was written")
	}
	if b.Len() != 0 {
		t.Fatalf("refused writes left %d bytes", b.Len())
	}
	must(t, w.Data(make([]byte, MaxPayloadLen)))
	if b.Len() != MaxPacketLen {
		t.Fatalf("largest packet is %d bytes, want %d", b.Len(), MaxPacketLen)
	}
}

// FuzzPktLine checks that whatever the Reader accepts re-encodes to packets it reads back
// the same, and that it never claims to have consumed more than it was given.
func FuzzPktLine(f *testing.F) {
	for _, s := range []string{"0000", "0001", "0002", "0003", "000ahello\n0000", "0004", "fff0", "zzzz", "00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		var again bytes.Buffer
		w := NewWriter(&again)
		var kinds []Kind
		var payloads []string
		for {
			k, p, err := r.Next()
			if err != nil {
				break
			}
			kinds = append(kinds, k)
			payloads = append(payloads, string(p))
			switch k {
			case Data:
				must(t, w.Data(p))
			case Flush:
				must(t, w.Flush())
			case Delim:
				must(t, w.Delim())
			case ResponseEnd:
				must(t, w.ResponseEnd())
			}
		}
		if r.Consumed() > int64(len(in)) {
			t.Fatalf("consumed %d of %d bytes", r.Consumed(), len(in))
		}
		r2 := NewReader(&again)
		for i := range kinds {
			k, p, err := r2.Next()
			if err != nil || k != kinds[i] || string(p) != payloads[i] {
				t.Fatalf("packet %d re-read as %v %q %v, want %v %q", i, k, p, err, kinds[i], payloads[i])
			}
		}
		if _, _, err := r2.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("re-encoded input has more packets: %v", err)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
