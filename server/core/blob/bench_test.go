package blob

import (
	"io"
	"testing"
)

// The blob store's cost of encryption at rest: the same write and read paths with and without
// it. Each op is 1 MiB of one blob, so -benchtime=1024x writes and reads 1 GiB:
//
//	go test ./server/blob -run '^$' -bench 'Store' -benchtime=1024x
//
// Writes are fsynced once per blob, as uploads are; reads come from the page cache, so they
// measure decryption against a plain read.

// repeatReader yields n bytes of a fixed random MiB.
type repeatReader struct {
	buf []byte
	n   int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(int64(len(p)), r.n)], r.buf[int(r.n)%len(r.buf):])
	r.n -= int64(k)
	return k, nil
}

func benchStores(b *testing.B, run func(b *testing.B, s *Store)) {
	for _, c := range []struct {
		name  string
		plain bool
	}{{"encrypted", false}, {"plaintext", true}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := openStore(b.TempDir(), 0, newTestKeys(), c.plain)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(1 << 20)
			run(b, s)
		})
	}
}

func BenchmarkStoreWrite(b *testing.B) {
	src := randomBytes(1 << 20)
	benchStores(b, func(b *testing.B, s *Store) {
		b.ResetTimer()
		if _, _, err := s.Write(&repeatReader{buf: src, n: int64(b.N) << 20}, "", -1, -1); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkStoreRead(b *testing.B) {
	src := randomBytes(1 << 20)
	benchStores(b, func(b *testing.B, s *Store) {
		sha, _, err := s.Write(&repeatReader{buf: src, n: int64(b.N) << 20}, "", -1, -1)
		if err != nil {
			b.Fatal(err)
		}
		f, err := s.Open(sha)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = f.Close() }()
		b.ResetTimer()
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, make([]byte, 32<<10))
		if err != nil || n != int64(b.N)<<20 {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	})
}
