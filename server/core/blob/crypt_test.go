package blob

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testKeys is an in-memory keyring.
type testKeys struct {
	mu     sync.Mutex
	active string
	keys   map[string][]byte
}

func newTestKeys() *testKeys {
	k := &testKeys{keys: map[string][]byte{}}
	k.rotate("dk-1")
	return k
}

func (k *testKeys) rotate(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	k.keys[id], k.active = key, id
}

func (k *testKeys) Active() (string, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.active, k.keys[k.active], nil
}

func (k *testKeys) ActiveID() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.active
}

func (k *testKeys) Key(id string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[id]; ok {
		return key, nil
	}
	return nil, fmt.Errorf("no key %s", id)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func writeBlob(t *testing.T, s *Store, data []byte) string {
	t.Helper()
	sha, n, err := s.Write(bytes.NewReader(data), "", int64(len(data)), -1)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("write %d bytes: %d %v", len(data), n, err)
	}
	return sha
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// TestEncryptedRoundTrip: every size around chunk boundaries comes back byte for byte through
// Read, Seek and ReadAt at random ranges; the file on disk holds none of the plaintext.
func TestEncryptedRoundTrip(t *testing.T) {
	s, err := OpenStore(t.TempDir(), 0, newTestKeys())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 5, 4 * chunkSize} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := randomBytes(n)
			marker := []byte("SLIPWAY-MARKER-" + hex.EncodeToString(randomBytes(8)))
			if n >= len(marker) {
				copy(data[n/2:], marker)
			}
			sha := writeBlob(t, s, data)
			if sha != sum(data) {
				t.Fatalf("address %s is not the plaintext's sha256", sha)
			}
			raw, err := os.ReadFile(s.Path(sha))
			if err != nil {
				t.Fatal(err)
			}
			if n >= len(marker) && bytes.Contains(raw, marker) {
				t.Fatal("the blob file holds the plaintext marker")
			}
			if _, chunks, _ := plainSize(int64(len(raw)), int64(6+4+saltSize)); int64(len(raw)) != int64(6+4+saltSize)+int64(n)+chunks*tagSize {
				t.Fatalf("file is %d bytes for %d of plaintext", len(raw), n)
			}
			f, err := s.Open(sha)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = f.Close() }()
			if f.Size() != int64(n) {
				t.Fatalf("size %d, want %d", f.Size(), n)
			}
			all, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(all, data) {
				t.Fatalf("read all: %v, equal %v", err, bytes.Equal(all, data))
			}
			for range 50 {
				if n == 0 {
					break
				}
				off := mrand.IntN(n)
				l := mrand.IntN(n-off) + 1
				got := make([]byte, l)
				if _, err := f.ReadAt(got, int64(off)); err != nil && !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data[off:off+l]) {
					t.Fatalf("ReadAt(%d, %d) differs", off, l)
				}
				if _, err := f.Seek(int64(off), io.SeekStart); err != nil {
					t.Fatal(err)
				}
				got2 := make([]byte, l)
				if _, err := io.ReadFull(f, got2); err != nil || !bytes.Equal(got2, data[off:off+l]) {
					t.Fatalf("Seek(%d)+Read(%d): %v", off, l, err)
				}
			}
		})
	}
}

// TestTamperDetected: altering, truncating, reordering, moving chunks between files or renaming
// a file to another blob's address gives an error, never wrong bytes.
func TestTamperDetected(t *testing.T) {
	keys := newTestKeys()
	s, err := OpenStore(t.TempDir(), 0, keys)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(3*chunkSize + 100)
	sha := writeBlob(t, s, data)
	other := randomBytes(3*chunkSize + 100)
	otherSHA := writeBlob(t, s, other)
	orig, _ := os.ReadFile(s.Path(sha))
	hdr := 6 + len("dk-1") + saltSize
	chunkAt := func(i int) int { return hdr + i*encChunkSize }
	restore := func() {
		t.Helper()
		if err := os.WriteFile(s.Path(sha), orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	readAll := func() error {
		f, err := s.Open(sha)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		got, err := io.ReadAll(f)
		if err == nil && !bytes.Equal(got, data) {
			t.Fatal("wrong bytes returned without an error")
		}
		return err
	}
	cases := map[string]func(b []byte) []byte{
		"flipped byte in chunk 1":       func(b []byte) []byte { b[chunkAt(1)+10] ^= 1; return b },
		"flipped tag of the last chunk": func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"flipped salt":                  func(b []byte) []byte { b[hdr-1] ^= 1; return b },
		"truncated to three chunks":     func(b []byte) []byte { return b[:chunkAt(3)] },
		"last chunk cut short":          func(b []byte) []byte { return b[:len(b)-5] },
		"chunks 0 and 1 swapped": func(b []byte) []byte {
			c0 := bytes.Clone(b[chunkAt(0):chunkAt(1)])
			copy(b[chunkAt(0):], b[chunkAt(1):chunkAt(2)])
			copy(b[chunkAt(1):], c0)
			return b
		},
		"chunk 1 from another file": func(b []byte) []byte {
			o, _ := os.ReadFile(s.Path(otherSHA))
			copy(b[chunkAt(1):chunkAt(2)], o[chunkAt(1):chunkAt(2)])
			return b
		},
		"another blob's file under this address": func([]byte) []byte {
			o, _ := os.ReadFile(s.Path(otherSHA))
			return o
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			defer restore()
			if err := os.WriteFile(s.Path(sha), mutate(bytes.Clone(orig)), 0o600); err != nil {
				t.Fatal(err)
			}
			err := readAll()
			if err == nil {
				t.Fatal("a tampered file read without an error")
			}
			if !strings.Contains(err.Error(), "damaged") {
				t.Fatalf("error %q does not say the file is damaged", err)
			}
		})
	}
	// A Range read of an intact chunk of a file with a damaged chunk still works; the damaged
	// one fails.
	b := bytes.Clone(orig)
	b[chunkAt(1)+10] ^= 1
	if err := os.WriteFile(s.Path(sha), b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(sha)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 100)
	if _, err := f.ReadAt(got, 5); err != nil || !bytes.Equal(got, data[5:105]) {
		t.Fatalf("intact chunk 0: %v", err)
	}
	if _, err := f.ReadAt(got, chunkSize+5); err == nil {
		t.Fatal("damaged chunk 1 read without an error")
	}
	_ = f.Close()
	restore()
	if err := readAll(); err != nil {
		t.Fatalf("restored file: %v", err)
	}
}

// TestVerifyWriterAndPeerFormat: a peer's file is accepted as it streams in only if every
// chunk authenticates and the plaintext is the blob; the received file reads back.
func TestVerifyWriterAndPeerFormat(t *testing.T) {
	keys := newTestKeys()
	a, _ := OpenStore(t.TempDir(), 0, keys)
	b, _ := OpenStore(t.TempDir(), 0, keys)
	data := randomBytes(2*chunkSize + 7)
	sha := writeBlob(t, a, data)
	raw, _ := os.ReadFile(a.Path(sha))
	// Byte-at-a-time and in one piece.
	for _, step := range []int{1, 4093, len(raw)} {
		v, err := newVerifyWriter(keys, sha, int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(raw); i += step {
			if _, err := v.Write(raw[i:min(i+step, len(raw))]); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		if n, err := v.Finish(); err != nil || n != int64(len(data)) {
			t.Fatalf("step %d: %d %v", step, n, err)
		}
	}
	bad := bytes.Clone(raw)
	bad[len(bad)/2] ^= 1
	if err := b.writeCiphertext(bytes.NewReader(bad), sha, int64(len(bad))); err == nil {
		t.Fatal("a damaged peer file was accepted")
	}
	if b.Has(sha) {
		t.Fatal("a refused peer file was placed")
	}
	other := randomBytes(100)
	if err := b.writeCiphertext(bytes.NewReader(raw), sum(other), int64(len(raw))); err == nil {
		t.Fatal("a peer file under another address was accepted")
	}
	if err := b.writeCiphertext(bytes.NewReader(raw[:len(raw)-1]), sha, int64(len(raw))); err == nil {
		t.Fatal("a short peer file was accepted")
	}
	if err := b.writeCiphertext(bytes.NewReader(raw), sha, int64(len(raw))); err != nil {
		t.Fatal(err)
	}
	f, err := b.Open(sha)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("received file reads back: %v", err)
	}
	left, _ := os.ReadDir(filepath.Join(b.dir, "tmp"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestRewriteUnderNewKey: after a rotation, rewrite puts a file under the active key with the
// same plaintext, and the old key's files stay readable until then. A file from before
// encryption at rest is encrypted when opened.
func TestRewriteUnderNewKey(t *testing.T) {
	keys := newTestKeys()
	s, _ := OpenStore(t.TempDir(), 0, keys)
	data := randomBytes(chunkSize*2 + 1)
	sha := writeBlob(t, s, data)
	keys.rotate("dk-2")
	if id, _ := s.KeyID(sha); id != "dk-1" {
		t.Fatalf("key id %q before the rewrite", id)
	}
	check := func() {
		t.Helper()
		f, err := s.Open(sha)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		_ = f.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read: %v", err)
		}
	}
	check()
	if err := s.rewrite(sha, nil); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.KeyID(sha); id != "dk-2" {
		t.Fatalf("key id %q after the rewrite, want dk-2", id)
	}
	check()

	legacy := randomBytes(1000)
	lsha := sum(legacy)
	_ = os.MkdirAll(filepath.Dir(s.Path(lsha)), 0o700)
	if err := os.WriteFile(s.Path(lsha), legacy, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyID(lsha); !errors.Is(err, errNotEncrypted) {
		t.Fatalf("legacy file: %v", err)
	}
	f, err := s.Open(lsha)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	_ = f.Close()
	if !bytes.Equal(got, legacy) {
		t.Fatal("legacy file reads back wrong")
	}
	if raw, _ := os.ReadFile(s.Path(lsha)); bytes.Equal(raw, legacy) {
		t.Fatal("the legacy file was not encrypted")
	}
	// A legacy file whose content is not its address is removed, not encrypted.
	wrong := s.Path(sum([]byte("x")))
	_ = os.MkdirAll(filepath.Dir(wrong), 0o700)
	_ = os.WriteFile(wrong, []byte("not x"), 0o600)
	if _, err := s.Open(sum([]byte("x"))); err == nil {
		t.Fatal("a legacy file with the wrong content was served")
	}
	if _, err := os.Stat(wrong); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a legacy file with the wrong content was kept")
	}
}
