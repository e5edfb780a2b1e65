package command

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

func testCaller() *Caller {
	return &Caller{Kind: "user", ID: "u-1", Name: "alice", Action: "deploy:CreateApplication",
		Resource: "app/shop", Source: "10.0.0.1:5000", RequestID: "req-1"}
}

// TestV1BytesUnchanged: a command without a caller is encoded exactly as before version 2
// existed (codec version 1, header, request id, payload), so every log entry, golden file and
// test written before stays byte-identical.
func TestV1BytesUnchanged(t *testing.T) {
	c := &Command{Type: TypeClusterInit, Version: 1, RequestID: "rid", Time: time.Unix(0, 0x0102030405060708), Payload: []byte(`{"cluster_id":"x"}`)}
	got, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{1, 0, 2, 1, 1, 2, 3, 4, 5, 6, 7, 8, 3, 'r', 'i', 'd'}, `{"cluster_id":"x"}`...)
	if !bytes.Equal(got, want) {
		t.Fatalf("v1 encoding changed:\n got %x\nwant %x", got, want)
	}
}

func TestCallerRoundTrip(t *testing.T) {
	c := &Command{Type: TypeClusterInit, Version: 1, RequestID: "rid", Time: time.Unix(5, 6).UTC(), Payload: []byte(`{"cluster_id":"x"}`), Caller: testCaller()}
	b, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 2 {
		t.Fatalf("a command with a caller is codec version %d, want 2", b[0])
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Caller == nil || *got.Caller != *c.Caller || string(got.Payload) != string(c.Payload) || got.RequestID != "rid" {
		t.Fatalf("decoded %+v caller %+v", got, got.Caller)
	}
	again, _ := Encode(got)
	if !bytes.Equal(again, b) {
		t.Fatalf("re-encoding changed the bytes")
	}
	// An empty caller is still a caller (version 2), and comes back as one.
	b, _ = Encode(&Command{Type: TypeNoop, Version: 1, Payload: []byte(`{}`), Caller: &Caller{}})
	if got, err := Decode(b); err != nil || got.Caller == nil || *got.Caller != (Caller{}) {
		t.Fatalf("empty caller: %+v %v", got, err)
	}
	// Batches carry each command's caller.
	sub, _ := Encode(c)
	plain, _ := Encode(&Command{Type: TypeNoop, Version: 1, Payload: []byte(`{}`)})
	batch, _ := EncodeBatch([][]byte{sub, plain})
	outer, _ := Decode(batch)
	subs, err := DecodeBatch(outer)
	if err != nil || len(subs) != 2 || subs[0].Caller == nil || *subs[0].Caller != *c.Caller || subs[1].Caller != nil {
		t.Fatalf("batch: %v %+v", err, subs)
	}
}

// TestCallerFieldsCut: a field longer than its bound is cut at a character boundary when
// encoded, so a long resource name never makes a write fail.
func TestCallerFieldsCut(t *testing.T) {
	long := strings.Repeat("é", maxCallerField) // 2 bytes each
	c := &Command{Type: TypeNoop, Version: 1, Payload: []byte(`{}`), Caller: &Caller{Resource: "x" + long}}
	b, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	r := got.Caller.Resource
	if len(r) > maxCallerField || len(r) < maxCallerField-1 || !strings.HasPrefix(r, "xé") || !strings.HasSuffix(r, "é") {
		t.Fatalf("cut resource is %d bytes, ends %q", len(r), r[len(r)-4:])
	}
}

func TestCallerContext(t *testing.T) {
	ctx := context.Background()
	if CallerFrom(ctx) != nil || WithCaller(ctx, nil) != ctx {
		t.Fatal("a context without a caller")
	}
	c := testCaller()
	if CallerFrom(WithCaller(ctx, c)) != c {
		t.Fatal("caller not carried")
	}
}

// TestHostileCallerBlocksRefused: every malformed caller block is ErrMalformed, never a panic.
func TestHostileCallerBlocksRefused(t *testing.T) {
	head := []byte{2, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0} // v2 noop, no request id
	withBlock := func(block []byte) []byte {
		b := binary.AppendUvarint(append([]byte(nil), head...), uint64(len(block)))
		return append(append(b, block...), `{}`...)
	}
	fields := func(ls ...int) []byte {
		var b []byte
		for _, l := range ls {
			b = binary.AppendUvarint(b, uint64(l))
			b = append(b, bytes.Repeat([]byte{'a'}, l)...)
		}
		return b
	}
	huge := binary.AppendUvarint(append([]byte(nil), head...), maxCallerBlock+1)
	huge = append(huge, make([]byte, maxCallerBlock+1)...)
	cases := map[string][]byte{
		"no block":            head,
		"block past the end":  append(binary.AppendUvarint(append([]byte(nil), head...), 50), 0, 0),
		"block over bound":    huge,
		"varint overflow":     append(append([]byte(nil), head...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"non-minimal length":  append(append([]byte(nil), head...), 0x87, 0x00, 0, 0, 0, 0, 0, 0, 0),
		"too few fields":      withBlock(fields(1, 1, 1)),
		"field past block":    withBlock(append(fields(0, 0, 0, 0, 0, 0), 9, 'a')),
		"bytes after fields":  withBlock(append(fields(0, 0, 0, 0, 0, 0, 0), 'x')),
		"field over bound":    withBlock(fields(0, 0, 0, 0, maxCallerField+1, 0, 0)),
		"no payload after it": withBlock(fields(0, 0, 0, 0, 0, 0, 0))[:len(head)+8],
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if c, err := Decode(b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("want ErrMalformed, got %v (%+v)", err, c)
			}
		})
	}
	if _, err := Decode(withBlock(fields(0, 0, 0, 0, maxCallerField, 0, 0))); err != nil {
		t.Fatalf("a field at its bound is refused: %v", err)
	}
}
