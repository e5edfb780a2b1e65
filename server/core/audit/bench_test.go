package audit

import (
	"crypto/sha256"
	"testing"
)

// The benchmarks report the cost per record of appending (bound, encode, hash) and verifying
// (encode, hash, compare), next to the reference: SHA-256 of the same hash input alone, measured
// in the same run. docs/BENCHMARKS.md has the figures.

func BenchmarkAppend(b *testing.B) {
	rs := make([]Record, 64)
	for i := range rs {
		rs[i] = sample(i)
	}
	c := NewChain()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Append(rs[i%len(rs)])
	}
}

func BenchmarkVerify(b *testing.B) {
	_, rs := build(4096)
	b.ReportAllocs()
	var v *Verifier
	for i := 0; b.Loop(); i++ {
		if i%len(rs) == 0 {
			v = NewVerifier(Anchor{})
		}
		if err := v.Next(rs[i%len(rs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256Reference hashes the hash input of a typical record (prepared beforehand), the
// floor under Append and Verify.
func BenchmarkSHA256Reference(b *testing.B) {
	_, rs := build(1)
	input := AppendHashInput(nil, rs[0])
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(input)
	}
}
