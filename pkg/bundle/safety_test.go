package bundle

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zeroBomb returns a zip holding appspec.yml and n entries that each
// inflate to each zero bytes (a multiple of 1 MiB), about 1,000 times
// smaller than what it unpacks to. The deflate stream of an entry is one
// compressed MiB of zeros repeated: each copy ends on a byte boundary (a
// sync flush) and refers only to the zero before it, so the copies chain
// into one valid stream, and the test never compresses a GiB.
func zeroBomb(t testing.TB, n int, each int64) []byte {
	t.Helper()
	const chunk = 1 << 20
	var block bytes.Buffer
	fw, err := flate.NewWriter(&block, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, chunk)
	if _, err := fw.Write(zeros); err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	crc := uint32(0)
	for i := int64(0); i < each/chunk; i++ {
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	raw := bytes.Repeat(block.Bytes(), int(each/chunk))
	raw = append(raw, 0x01, 0x00, 0x00, 0xff, 0xff) // final empty stored block

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("appspec.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("version: 0.0\nos: linux\n")); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h := &zip.FileHeader{Name: fmt.Sprintf("zeros/%04d", i), Method: zip.Deflate, CRC32: crc,
			CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(each)}
		h.SetMode(0o644)
		rw, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rw.Write(raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZipBombIsRefusedAndLeavesNothing: a zip of about 1 MB that inflates
// 1,000-fold is refused by the expansion limit, the refusal says the sizes,
// and UnpackFileStaged leaves no trace. One bomb is a single 1 GiB entry
// (refused on its declared size), the other 1,024 entries of 1 MiB each,
// each under the limit on its own (refused on the bytes written).
func TestZipBombIsRefusedAndLeavesNothing(t *testing.T) {
	for name, bomb := range map[string][]byte{"one entry": zeroBomb(t, 1, 1<<30), "many entries": zeroBomb(t, 1024, 1<<20)} {
		t.Run(name, func(t *testing.T) { checkBombRefused(t, bomb) })
	}
}

func checkBombRefused(t *testing.T, bomb []byte) {
	if len(bomb) > 2<<20 || len(bomb) < 512<<10 {
		t.Fatalf("the bomb is %d bytes; the test wants about 1 MB", len(bomb))
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "bundle")
	if err := os.WriteFile(p, bomb, 0o600); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "deploy")
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(base, "archive")
	err := UnpackFileStaged(p, dest, Limits{MaxExpansion: 100})
	var se *SizeError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &se) || !se.ByExpansion {
		t.Fatalf("err = %v, want a SizeError by expansion", err)
	}
	if want := max(100*int64(len(bomb)), MinExpansionAllowance); se.Limit != want || se.ArchiveSize != int64(len(bomb)) {
		t.Fatalf("limit %d for a %d byte archive, want %d", se.Limit, se.ArchiveSize, want)
	}
	for _, part := range []string{"100 times", "byte archive", "at most 8.0 GiB"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("message %q lacks %q", err, part)
		}
	}
	if entries, _ := os.ReadDir(base); len(entries) != 0 {
		t.Fatalf("the refused unpack left %v behind", entries)
	}
	// The absolute ceiling applies alone when no ratio is set.
	err = UnpackFileStaged(p, dest, Limits{MaxBytes: 1 << 20})
	if !errors.As(err, &se) || se.ByExpansion || se.Limit != 1<<20 {
		t.Fatalf("err = %v, want the 1 MiB ceiling", err)
	}
	if entries, _ := os.ReadDir(base); len(entries) != 0 {
		t.Fatalf("the refused unpack left %v behind", entries)
	}
}

func TestMaxUnpacked(t *testing.T) {
	for _, c := range []struct {
		lim   Limits
		want  int64
		ratio bool
	}{
		{Limits{}, DefaultMaxBytes, false},
		{Limits{MaxExpansion: 100}, DefaultMaxBytes, false},                               // size unknown
		{Limits{MaxExpansion: 100, ArchiveSize: 1 << 20}, 100 << 20, true},                // the ratio
		{Limits{MaxExpansion: 100, ArchiveSize: 1000}, MinExpansionAllowance, true},       // the floor
		{Limits{MaxExpansion: 100, ArchiveSize: 1 << 30}, DefaultMaxBytes, false},         // the ceiling
		{Limits{MaxExpansion: 100, ArchiveSize: 1000, MaxBytes: 1 << 20}, 1 << 20, false}, // a ceiling under the floor
		{Limits{MaxExpansion: 1 << 40, ArchiveSize: 1 << 40}, DefaultMaxBytes, false},     // no overflow
	} {
		got, ratio := c.lim.MaxUnpacked()
		if got != c.want || ratio != c.ratio {
			t.Errorf("%+v: %d %v, want %d %v", c.lim, got, ratio, c.want, c.ratio)
		}
	}
}

// TestStagedUnpackLeavesNothingOnAnyRefusal: whatever stops an unpack, the
// target is not created and no staging folder stays.
func TestStagedUnpackLeavesNothingOnAnyRefusal(t *testing.T) {
	cases := map[string][]byte{
		"traversal after files": buildTar(t, []tarEntry{{name: "a/b", body: strings.Repeat("x", 4096)}, {name: "../evil", body: "x"}}),
		"device":                buildTar(t, []tarEntry{{name: "ro/", typ: tar.TypeDir, mode: 0o500}, {name: "ro/f", body: "x"}, {name: "d", typ: tar.TypeChar}}),
		"escaping link":         buildTar(t, []tarEntry{{name: "f", body: "x"}, {name: "l", typ: tar.TypeSymlink, link: "../../etc"}}),
		"truncated":             buildTar(t, []tarEntry{{name: "f", body: strings.Repeat("x", 2048)}})[:1024],
		"entries":               buildTar(t, []tarEntry{{name: "1", body: "x"}, {name: "2", body: "x"}, {name: "3", body: "x"}}),
		"bytes":                 gzipBytes(t, buildTar(t, []tarEntry{{name: "big", body: strings.Repeat("0", 4096)}})),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "bundle")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			base := filepath.Join(dir, "deploy")
			if err := os.Mkdir(base, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := UnpackFileStaged(p, filepath.Join(base, "archive"), Limits{MaxEntries: 2, MaxBytes: 1024}); err == nil {
				t.Fatal("unpack succeeded")
			}
			if entries, _ := os.ReadDir(base); len(entries) != 0 {
				t.Fatalf("the refused unpack left %v behind", entries)
			}
		})
	}
	t.Run("success", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "bundle")
		if err := os.WriteFile(p, buildTar(t, []tarEntry{{name: "f", body: "x"}}), 0o600); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(dir, "archive")
		if err := UnpackFileStaged(p, dest, Limits{}); err != nil {
			t.Fatal(err)
		}
		checkMode(t, dest, fs.ModeDir|0o755)
		if b, err := os.ReadFile(filepath.Join(dest, "f")); err != nil || string(b) != "x" {
			t.Fatalf("f = %q, %v", b, err)
		}
		if err := UnpackFileStaged(p, dest, Limits{}); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("unpack over an existing target: %v", err)
		}
	})
}

// TestSpecialBitsAreDropped: setuid, setgid and sticky bits of entries
// never reach the disk; permission bits do.
func TestSpecialBitsAreDropped(t *testing.T) {
	tarData := buildTar(t, []tarEntry{
		{name: "sgid/", typ: tar.TypeDir, mode: 0o2755},
		{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		{name: "suid", body: "x", mode: 0o4755},
		{name: "sgid/f", body: "x", mode: 0o2750},
	})
	zipData := buildZip(t, []zipEntry{
		{name: "sgid/", mode: fs.ModeDir | fs.ModeSetgid | 0o755},
		{name: "tmp/", mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{name: "suid", body: "x", mode: fs.ModeSetuid | 0o755},
		{name: "sgid/f", body: "x", mode: fs.ModeSetgid | 0o750},
	})
	for name, unpack := range map[string]func(dest string) error{
		"tar": func(d string) error { return UnpackTar(bytes.NewReader(tarData), d, Limits{}) },
		"zip": func(d string) error { return UnpackZip(bytes.NewReader(zipData), int64(len(zipData)), d, Limits{}) },
	} {
		t.Run(name, func(t *testing.T) {
			_, dest := sandbox(t)
			if err := unpack(dest); err != nil {
				t.Fatal(err)
			}
			checkMode(t, filepath.Join(dest, "suid"), 0o755)
			checkMode(t, filepath.Join(dest, "sgid"), fs.ModeDir|0o755)
			checkMode(t, filepath.Join(dest, "sgid/f"), 0o750)
			checkMode(t, filepath.Join(dest, "tmp"), fs.ModeDir|0o777)
		})
	}
}

// TestZipDirectoryIsCountedBeforeLoading: a zip whose central directory
// holds more records than MaxEntries is refused by the streaming count.
func TestZipDirectoryIsCountedBeforeLoading(t *testing.T) {
	var entries []zipEntry
	for i := 0; i < 50; i++ {
		entries = append(entries, zipEntry{name: strings.Repeat("n", i+1)})
	}
	z := buildZip(t, entries)
	if err := checkZipEntries(bytes.NewReader(z), int64(len(z)), 50); err != nil {
		t.Fatalf("50 records under a limit of 50: %v", err)
	}
	if err := checkZipEntries(bytes.NewReader(z), int64(len(z)), 49); !errors.Is(err, ErrTooManyEntries) {
		t.Fatalf("50 records under a limit of 49: %v", err)
	}
	// Data before the archive (a self-extractor's stub) moves the base offset.
	pre := append(bytes.Repeat([]byte("stub"), 100), z...)
	if err := checkZipEntries(bytes.NewReader(pre), int64(len(pre)), 49); !errors.Is(err, ErrTooManyEntries) {
		t.Fatalf("prefixed zip: %v", err)
	}
	if _, err := zip.NewReader(bytes.NewReader(pre), int64(len(pre))); err != nil {
		t.Fatalf("archive/zip cannot read the prefixed zip either: %v", err)
	}
	if err := checkZipEntries(bytes.NewReader([]byte("PK\x03\x04junk")), 8, 10); err == nil {
		t.Fatal("no end record: accepted")
	}
}
