package blob

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// TestReserveStopsBlobWrites: blob writes must leave the reserve free on the data disk, which
// the Raft log and state share, and a refused write leaves nothing behind. Found by the test bed:
// an upload that took a disk's last bytes made the next Raft append fail.
func TestReserveStopsBlobWrites(t *testing.T) {
	dir := t.TempDir()
	free, ok := freeBytes(dir)
	if !ok {
		t.Skip("free space cannot be read on this OS; the reserve check is off")
	}
	// Leave 16 MiB above the reserve.
	s, err := OpenStore(dir, free-16<<20, newTestKeys())
	if err != nil {
		t.Fatal(err)
	}
	small := bytes.Repeat([]byte("a"), 1<<20)
	if _, _, err := s.Write(bytes.NewReader(small), "", int64(len(small)), -1); err != nil {
		t.Fatalf("a 1 MiB write with 16 MiB above the reserve: %v", err)
	}
	// Declared too big: refused before a byte is written.
	_, _, err = s.Write(bytes.NewReader(nil), "", 1<<30, -1)
	if fault.CodeOf(err) != fault.NoSpace {
		t.Fatalf("a declared 1 GiB write: %v, want insufficient_storage", err)
	}
	// Size not declared: stopped while streaming, at the reserve.
	n, err := func() (int64, error) {
		_, n, err := s.Write(io.LimitReader(zeros{}, 1<<30), "", -1, -1)
		return n, err
	}()
	if fault.CodeOf(err) != fault.NoSpace {
		t.Fatalf("an undeclared 1 GiB write: %v, want insufficient_storage", err)
	}
	if n > 64<<20 {
		t.Fatalf("the write went on for %d bytes past a 16 MiB margin", n)
	}
	left, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil || len(left) != 0 {
		t.Fatalf("temporary files left after refused writes: %v %v", left, err)
	}
	// No reserve: no check.
	s0, err := OpenStore(t.TempDir(), 0, newTestKeys())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s0.Write(bytes.NewReader(small), "", int64(len(small)), -1); err != nil {
		t.Fatal(err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
