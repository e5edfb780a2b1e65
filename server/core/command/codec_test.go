package command

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 123).UTC()
	c, err := New(TypeClusterInit, "tok/key-1", now, ClusterInit{ClusterID: "web"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != TypeClusterInit || got.RequestID != "tok/key-1" || !got.Time.Equal(now) || got.Version != 1 {
		t.Fatalf("decoded %+v", got)
	}
	var p ClusterInit
	if err := DecodePayload(got, &p); err != nil || p.ClusterID != "web" {
		t.Fatalf("payload %+v, %v", p, err)
	}
}

func TestBatchRoundTrip(t *testing.T) {
	var parts [][]byte
	for _, n := range []string{"a", "b", "c"} {
		c, _ := New(TypeClusterInit, "", time.Unix(0, 0), ClusterInit{ClusterID: n})
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, b)
	}
	enc, err := EncodeBatch(parts)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := Decode(enc)
	if err != nil || outer.Type != TypeBatch {
		t.Fatalf("outer %+v %v", outer, err)
	}
	subs, err := DecodeBatch(outer)
	if err != nil || len(subs) != 3 {
		t.Fatalf("subs %d %v", len(subs), err)
	}
	// A batch inside a batch is refused.
	nested, _ := EncodeBatch([][]byte{enc})
	outer, _ = Decode(nested)
	if _, err := DecodeBatch(outer); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nested batch: %v", err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	good, _ := Encode(&Command{Type: TypeClusterInit, Version: 1, RequestID: "rid", Payload: []byte(`{"cluster_id":"x"}`)})
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":           nil,
		"short":           {1, 0},
		"codec version":   mutate(func(b []byte) []byte { b[0] = 9; return b }),
		"unknown type":    mutate(func(b []byte) []byte { b[1], b[2] = 0xff, 0xff; return b }),
		"newer schema":    mutate(func(b []byte) []byte { b[3] = 2; return b }),
		"zero schema":     mutate(func(b []byte) []byte { b[3] = 0; return b }),
		"rid past end":    mutate(func(b []byte) []byte { b[12] = 100; return b[:20] }),
		"long request id": mutate(func(b []byte) []byte { b[12] = 200; return append(b, make([]byte, 300)...) }),
		"no payload":      mutate(func(b []byte) []byte { return b[:fixedHeader+3] }),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("want ErrMalformed, got %v", err)
			}
		})
	}
	c, err := Decode(mutate(func(b []byte) []byte { return append(b[:fixedHeader+3], `{"cluster_id":"x","extra":1}`...) }))
	if err != nil {
		t.Fatal(err)
	}
	var p ClusterInit
	if err := DecodePayload(c, &p); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown payload field: want ErrMalformed, got %v", err)
	}
	bad := &Command{Type: TypeBatch, Version: 1, Payload: []byte{0xff, 0xff, 0xff}}
	if _, err := DecodeBatch(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad batch length: want ErrMalformed, got %v", err)
	}
}

// FuzzDecode checks that no input makes the decoder panic, and that whatever it accepts
// encodes back to something it decodes to the same command.
func FuzzDecode(f *testing.F) {
	for _, c := range []*Command{
		{Type: TypeClusterInit, Version: 1, RequestID: "r", Time: time.Unix(1, 0), Payload: []byte(`{"cluster_id":"web"}`)},
		{Type: TypeNodeRegister, Version: 1, Payload: []byte(`{"node_id":"n","raft_addr":"a:1","http_addr":"http://h:2","version":"v"}`)},
		{Type: TypeNoop, Version: 1, Payload: []byte(`{}`)},
		{Type: TypeNoop, Version: 1, RequestID: "r", Payload: []byte(`{}`), Caller: &Caller{Kind: "user", ID: "u", Name: "n", Action: "a:B", Resource: "app/x", Source: "s", RequestID: "q"}},
		{Type: TypeNoop, Version: 1, Payload: []byte(`{}`), Caller: &Caller{}},
	} {
		b, err := Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	sub, _ := Encode(&Command{Type: TypeNoop, Version: 1, Payload: []byte(`{}`)})
	batch, _ := EncodeBatch([][]byte{sub, sub})
	f.Add(batch)
	f.Add([]byte{1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		if c.Type == TypeBatch {
			_, _ = DecodeBatch(c)
		}
		again, err := Encode(c)
		if err != nil {
			t.Fatalf("decoded command does not encode: %v", err)
		}
		c2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
		if c2.Type != c.Type || c2.RequestID != c.RequestID || !c2.Time.Equal(c.Time) || c2.Version != c.Version {
			t.Fatalf("round trip changed the command: %+v != %+v", c2, c)
		}
		if (c.Caller == nil) != (c2.Caller == nil) || (c.Caller != nil && *c.Caller != *c2.Caller) {
			t.Fatalf("round trip changed the caller: %+v != %+v", c2.Caller, c.Caller)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("an accepted entry does not encode back to its own bytes:\n%x\n%x", b, again)
		}
	})
}
