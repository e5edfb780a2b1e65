package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

// goldenRecord is the record whose encoding and hash are pinned below. Its bytes are part of the
// persisted format: if this test fails, the change breaks every stored trail's verification and
// needs a new FormatVersion instead.
func goldenRecord() Record {
	return Record{
		Seq:       42,
		Time:      time.Date(2026, time.November, 5, 14, 3, 7, 250000000, time.UTC),
		Principal: Principal{Kind: KindUser, ID: "u-7f3a", Name: "alice"},
		Action:    "codedeploy:DeleteApplication",
		Resource:  "srn:slipway:codedeploy:app/shop",
		Source:    "203.0.113.9:50412",
		RequestID: "acc-1f2e/3d4c",
		Outcome:   OutcomeDenied,
		ErrorCode: "forbidden",
		Prev:      sha256.Sum256([]byte("record 41")),
	}
}

const (
	// Checked independently: date -u -d @$((0x6aec8c9b)) is Thu Nov 5 14:03:07 UTC 2026, and
	// Python's hashlib.sha256(b"\x01" + sha256(b"record 41") + canonical) gives goldenHash.
	goldenCanonical = "0108000000000000002a" + // seq 42
		"020c000000006aec8c9b0ee6b280" + // time 1793887387 s, 250000000 ns
		"0304" + "75736572" + // kind "user"
		"0406" + "752d37663361" + // id "u-7f3a"
		"0505" + "616c696365" + // name "alice"
		"061c" + "636f64656465706c6f793a44656c6574654170706c69636174696f6e" + // action
		"071f" + "73726e3a736c69707761793a636f64656465706c6f793a6170702f73686f70" + // resource
		"0811" + "3230332e302e3131332e393a3530343132" + // source
		"090d" + "6163632d316632652f33643463" + // request id
		"0a06" + "64656e696564" + // outcome "denied"
		"0b09" + "666f7262696464656e" // error code "forbidden"
	goldenHash = "176033b4908d098d80592a6e98e316f47cda31fd5d6f56f08a891fd2803c4735"
)

func TestCanonicalGolden(t *testing.T) {
	r := goldenRecord()
	got := hex.EncodeToString(AppendCanonical(nil, r))
	if got != goldenCanonical {
		t.Errorf("canonical encoding changed:\n got %s\nwant %s", got, goldenCanonical)
	}
	input := AppendHashInput(nil, r)
	if input[0] != FormatVersion || !bytes.Equal(input[1:33], r.Prev[:]) || hex.EncodeToString(input[33:]) != got {
		t.Error("hash input is not version || prev || canonical")
	}
	sum, _ := ComputeHash(nil, r)
	if sum.String() != goldenHash {
		t.Errorf("hash changed:\n got %s\nwant %s", sum, goldenHash)
	}
	// Appending at the same place gives the same record: Bound leaves it as it is.
	c, _ := Resume(Anchor{Seq: 41, Hash: r.Prev}, Anchor{Seq: 41, Hash: r.Prev})
	if got := c.Append(r); got.Hash.String() != goldenHash {
		t.Errorf("Append hashed to %s, want %s", got.Hash, goldenHash)
	}
}

// TestCanonicalLayout spells out the encoding of a small record byte by byte, as the doc comment
// of AppendCanonical describes it.
func TestCanonicalLayout(t *testing.T) {
	r := Record{
		Seq:       1,
		Time:      time.Unix(-1, 5).UTC(), // before 1970: the seconds are two's complement
		Principal: Principal{Kind: KindAnonymous},
		Action:    "iam:Login",
		Outcome:   OutcomeDenied,
	}
	want := []byte{
		1, 8, 0, 0, 0, 0, 0, 0, 0, 1, // seq
		2, 12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 5, // time
		3, 9, 'a', 'n', 'o', 'n', 'y', 'm', 'o', 'u', 's', // principal kind; ID and name left out
		6, 9, 'i', 'a', 'm', ':', 'L', 'o', 'g', 'i', 'n', // action; resource, source, request id left out
		10, 6, 'd', 'e', 'n', 'i', 'e', 'd', // outcome; error code left out
	}
	if got := AppendCanonical(nil, r); !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
	// A string longer than 127 bytes takes a two-byte length.
	r.Resource = string(bytes.Repeat([]byte{'r'}, 200))
	got := AppendCanonical(nil, r)
	i := bytes.IndexByte(got, 7)
	if i < 0 || got[i+1] != 0xc8 || got[i+2] != 0x01 {
		t.Fatalf("resource of 200 bytes: % x", got[i:i+3])
	}
}

func TestCanonicalIgnoresLocationAndMonotonicClock(t *testing.T) {
	r := goldenRecord()
	want := AppendCanonical(nil, r)
	r.Time = r.Time.In(time.FixedZone("x", -7*3600))
	if !bytes.Equal(AppendCanonical(nil, r), want) {
		t.Fatal("the time's location changed the encoding")
	}
}

func TestCanonicalIsInjectiveAcrossFields(t *testing.T) {
	// The same bytes moved from one field to the next must not encode the same.
	a, b := goldenRecord(), goldenRecord()
	a.Principal.ID, a.Principal.Name = "ab", "c"
	b.Principal.ID, b.Principal.Name = "a", "bc"
	if bytes.Equal(AppendCanonical(nil, a), AppendCanonical(nil, b)) {
		t.Fatal("moving a byte between fields kept the encoding")
	}
	a.Principal.ID, a.Principal.Name = "x", ""
	b.Principal.ID, b.Principal.Name = "", "x"
	if bytes.Equal(AppendCanonical(nil, a), AppendCanonical(nil, b)) {
		t.Fatal("a value moved to an empty neighbour kept the encoding")
	}
}
