package credential

import (
	"errors"
	"testing"
)

// FuzzVerifyPassword feeds VerifyPassword hostile encoded hashes: it must never panic, never
// accept parameters above the maxima, and accept only the canonical form HashPassword writes.
// Encodings that parse but would cost more than a few milliseconds are checked by the parser
// alone, so the fuzzer spends its time on parsing rather than on argon2.
func FuzzVerifyPassword(f *testing.F) {
	for _, s := range []string{
		refCheap, refDefault, "",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0MTZieQ$852BDtb8HBovUbx1bc2wRTmQe2UoOGWHdFFReCk6VBA",
		"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0MTZieQ",
		"$argon2id$v=19$m=1024,t=0,p=0$$",
	} {
		f.Add(s, refPW)
	}
	f.Fuzz(func(t *testing.T, enc, pw string) {
		p, salt, key, perr := decodeHash(enc)
		if perr == nil {
			if p.Memory > maxArgon2Memory || p.Time > maxArgon2Time || p.Threads > maxArgon2Threads || p.Time < 1 || p.Threads < 1 {
				t.Fatalf("parsed parameters outside the limits: %+v", p)
			}
			if encodeHash(p, salt, key) != enc {
				t.Fatalf("accepted a non-canonical encoding %q", enc)
			}
			if uint64(p.Memory)*uint64(p.Time) > 4*1024 {
				return
			}
		}
		ok, rehash, err := VerifyPassword(enc, pw)
		if (err == nil) != (perr == nil) {
			t.Fatalf("VerifyPassword err %v but parser err %v", err, perr)
		}
		if err != nil && !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrHashTooCostly) {
			t.Fatalf("unexpected error %v", err)
		}
		if err != nil && (ok || rehash) {
			t.Fatalf("ok=%v rehash=%v with error %v", ok, rehash, err)
		}
	})
}
