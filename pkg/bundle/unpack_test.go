package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnpackTarRejects(t *testing.T) {
	cases := []struct {
		name    string
		entries []tarEntry
		want    error
	}{
		{"dotdot", []tarEntry{{name: "../evil", body: "x"}}, ErrUnsafePath},
		{"dotdot inside", []tarEntry{{name: "a/../../evil", body: "x"}}, ErrUnsafePath},
		{"dotdot harmless still refused", []tarEntry{{name: "a/../b", body: "x"}}, ErrUnsafePath},
		{"backslash dotdot", []tarEntry{{name: `a\..\..\evil`, body: "x"}}, ErrUnsafePath},
		{"absolute", []tarEntry{{name: "/tmp/evil", body: "x"}}, ErrUnsafePath},
		{"drive", []tarEntry{{name: "C:/evil", body: "x"}}, ErrUnsafePath},
		{"symlink absolute", []tarEntry{{name: "l", typ: tar.TypeSymlink, link: "/etc"}}, ErrUnsafeLink},
		{"symlink climbs", []tarEntry{{name: "a/l", typ: tar.TypeSymlink, link: "../../etc"}}, ErrUnsafeLink},
		{"symlink empty", []tarEntry{{name: "l", typ: tar.TypeSymlink, link: ""}}, ErrUnsafeLink},
		{"symlink chain escape", []tarEntry{
			{name: "a", typ: tar.TypeSymlink, link: "."},
			{name: "b", typ: tar.TypeSymlink, link: "a/.."},
		}, ErrUnsafeLink},
		{"chain escape left by a later failure", []tarEntry{
			{name: "a", typ: tar.TypeSymlink, link: "."},
			{name: "b", typ: tar.TypeSymlink, link: "a/.."},
			{name: "../evil", body: "x"},
		}, ErrUnsafePath},
		{"write through symlink", []tarEntry{
			{name: "d", typ: tar.TypeDir, mode: 0o755},
			{name: "l", typ: tar.TypeSymlink, link: "d"},
			{name: "l/x", body: "x"},
		}, ErrThroughLink},
		{"replace file with symlink", []tarEntry{
			{name: "f", body: "x"},
			{name: "f", typ: tar.TypeSymlink, link: "g"},
		}, ErrThroughLink},
		{"duplicate file", []tarEntry{{name: "f", body: "x"}, {name: "f", body: "y"}}, ErrThroughLink},
		{"dir over symlink", []tarEntry{
			{name: "l", typ: tar.TypeSymlink, link: "x"},
			{name: "l", typ: tar.TypeDir, mode: 0o755},
		}, ErrThroughLink},
		{"hard link outside", []tarEntry{{name: "h", typ: tar.TypeLink, link: "../etc/passwd"}}, ErrUnsafeLink},
		{"hard link to unknown", []tarEntry{{name: "h", typ: tar.TypeLink, link: "nothing"}}, ErrUnsafeLink},
		{"char device", []tarEntry{{name: "dev", typ: tar.TypeChar}}, ErrUnsupportedType},
		{"block device", []tarEntry{{name: "dev", typ: tar.TypeBlock}}, ErrUnsupportedType},
		{"fifo", []tarEntry{{name: "fifo", typ: tar.TypeFifo}}, ErrUnsupportedType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := buildTar(t, c.entries)
			base, dest := sandbox(t)
			err := UnpackTar(bytes.NewReader(data), dest, Limits{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Name == "" {
				t.Fatalf("err %v does not name the entry", err)
			}
			assertNothingOutside(t, base, dest)
		})
	}
}

func TestUnpackTarAccepts(t *testing.T) {
	data := buildTar(t, []tarEntry{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "./bin/", typ: tar.TypeDir, mode: 0o750},
		{name: "./bin/run", body: "#!/bin/sh\n", mode: 0o755},
		{name: "lib/x.so", body: "elf"},
		{name: "current", typ: tar.TypeSymlink, link: "bin/run"},
		{name: "bin/up", typ: tar.TypeSymlink, link: "../lib/x.so"},
		{name: "dangling", typ: tar.TypeSymlink, link: "not/there"},
		{name: "hard", typ: tar.TypeLink, link: "lib/x.so"},
		{name: "ro/", typ: tar.TypeDir, mode: 0o500},
		{name: "ro/f", body: "in a read-only folder", mode: 0o400},
	})
	base, dest := sandbox(t)
	if err := UnpackTar(bytes.NewReader(data), dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dest, "ro"), 0o755) })
	assertNothingOutside(t, base, dest)
	checkMode(t, filepath.Join(dest, "bin"), fs.ModeDir|0o750)
	checkMode(t, filepath.Join(dest, "bin/run"), 0o755)
	checkMode(t, filepath.Join(dest, "ro"), fs.ModeDir|0o500)
	checkMode(t, filepath.Join(dest, "ro/f"), 0o400)
	if l, err := os.Readlink(filepath.Join(dest, "bin/up")); err != nil || l != "../lib/x.so" {
		t.Fatalf("symlink bin/up = %q, %v", l, err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "hard")); err != nil || string(b) != "elf" {
		t.Fatalf("hard link = %q, %v", b, err)
	}
}

func checkMode(t *testing.T, p string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
	}
}

func TestUnpackZipRejects(t *testing.T) {
	cases := []struct {
		name    string
		entries []zipEntry
		want    error
	}{
		{"zip slip", []zipEntry{{name: "../../evil", body: "x"}}, ErrUnsafePath},
		{"zip slip backslash", []zipEntry{{name: `..\evil`, body: "x"}}, ErrUnsafePath},
		{"absolute", []zipEntry{{name: "/etc/evil", body: "x"}}, ErrUnsafePath},
		{"symlink escape", []zipEntry{{name: "l", body: "../../etc", mode: fs.ModeSymlink | 0o777}}, ErrUnsafeLink},
		{"symlink absolute", []zipEntry{{name: "l", body: "/etc", mode: fs.ModeSymlink | 0o777}}, ErrUnsafeLink},
		{"write through symlink", []zipEntry{
			{name: "l", body: "d", mode: fs.ModeSymlink | 0o777},
			{name: "l/x", body: "x"},
		}, ErrThroughLink},
		{"fifo", []zipEntry{{name: "p", mode: fs.ModeNamedPipe | 0o644}}, ErrUnsupportedType},
		{"device", []zipEntry{{name: "d", mode: fs.ModeDevice | 0o644}}, ErrUnsupportedType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := buildZip(t, c.entries)
			base, dest := sandbox(t)
			err := UnpackZip(bytes.NewReader(data), int64(len(data)), dest, Limits{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			assertNothingOutside(t, base, dest)
		})
	}
}

func TestUnpackZipAccepts(t *testing.T) {
	data := buildZip(t, []zipEntry{
		{name: "app/", mode: fs.ModeDir | 0o750},
		{name: `app\win.txt`, body: "from windows"},
		{name: "app/run.sh", body: "#!/bin/sh\n", mode: 0o755},
		{name: "link", body: "app/run.sh", mode: fs.ModeSymlink | 0o777},
	})
	base, dest := sandbox(t)
	if err := UnpackZip(bytes.NewReader(data), int64(len(data)), dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	assertNothingOutside(t, base, dest)
	checkMode(t, filepath.Join(dest, "app"), fs.ModeDir|0o750)
	checkMode(t, filepath.Join(dest, "app/run.sh"), 0o755)
	if b, err := os.ReadFile(filepath.Join(dest, "app", "win.txt")); err != nil || string(b) != "from windows" {
		t.Fatalf("backslash name: %q %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(dest, "link")); err != nil || l != "app/run.sh" {
		t.Fatalf("zip symlink = %q, %v", l, err)
	}
}

func TestLimits(t *testing.T) {
	big := strings.Repeat("x", 11)
	tarData := buildTar(t, []tarEntry{{name: "a", body: "12345"}, {name: "b", body: "123456"}})
	zipData := buildZip(t, []zipEntry{{name: "a", body: big}})
	cases := []struct {
		name   string
		unpack func(dest string) error
		want   error
	}{
		{"tar bytes", func(d string) error { return UnpackTar(bytes.NewReader(tarData), d, Limits{MaxBytes: 10}) }, ErrTooLarge},
		{"tar entries", func(d string) error { return UnpackTar(bytes.NewReader(tarData), d, Limits{MaxEntries: 1}) }, ErrTooManyEntries},
		{"tar.gz bytes", func(d string) error {
			return UnpackTarGz(bytes.NewReader(gzipBytes(t, tarData)), d, Limits{MaxBytes: 10})
		}, ErrTooLarge},
		{"zip bytes", func(d string) error {
			return UnpackZip(bytes.NewReader(zipData), int64(len(zipData)), d, Limits{MaxBytes: 10})
		}, ErrTooLarge},
		{"zip entries", func(d string) error {
			z := buildZip(t, []zipEntry{{name: "a"}, {name: "b"}, {name: "c"}})
			return UnpackZip(bytes.NewReader(z), int64(len(z)), d, Limits{MaxEntries: 2})
		}, ErrTooManyEntries},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, dest := sandbox(t)
			err := c.unpack(dest)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), "limit") {
				t.Fatalf("message %q does not mention the limit", err)
			}
			assertNothingOutside(t, base, dest)
		})
	}
	t.Run("exactly at the limit", func(t *testing.T) {
		_, dest := sandbox(t)
		if err := UnpackTar(bytes.NewReader(tarData), dest, Limits{MaxBytes: 11, MaxEntries: 2}); err != nil {
			t.Fatal(err)
		}
	})
}

// lyingReader serves a tar whose header announces fewer bytes than the
// gzip stream really inflates to is impossible; instead check that actual
// bytes are counted, not declared ones, with a zip entry whose data is
// bigger than the remaining budget after an earlier file.
func TestLimitCountsActualBytes(t *testing.T) {
	z := buildZip(t, []zipEntry{{name: "a", body: "123456"}, {name: "b", body: "123456"}})
	_, dest := sandbox(t)
	err := UnpackZip(bytes.NewReader(z), int64(len(z)), dest, Limits{MaxBytes: 10})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, statErr := os.Stat(filepath.Join(dest, "a")); statErr != nil {
		t.Fatalf("first file should be unpacked before the limit hit: %v", statErr)
	}
}

func TestDetectAndUnpackFile(t *testing.T) {
	tarData := buildTar(t, []tarEntry{{name: "appspec.yml", body: "version: 0.0\n"}})
	formats := map[Format][]byte{
		Tar:     tarData,
		TarGzip: gzipBytes(t, tarData),
		Zip:     buildZip(t, []zipEntry{{name: "appspec.yml", body: "version: 0.0\n"}}),
	}
	for f, data := range formats {
		t.Run(f.String(), func(t *testing.T) {
			if got := Detect(data); got != f {
				t.Fatalf("Detect = %v, want %v", got, f)
			}
			dir := t.TempDir()
			p := filepath.Join(dir, "bundle.bin") // name says nothing
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(dir, "out")
			if err := UnpackFile(p, dest, Limits{}); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dest, "appspec.yml")); err != nil || string(b) != "version: 0.0\n" {
				t.Fatalf("content %q, %v", b, err)
			}
			if f != Zip {
				if err := Unpack(bytes.NewReader(data), filepath.Join(dir, "stream"), Limits{}); err != nil {
					t.Fatalf("Unpack stream: %v", err)
				}
			} else if err := Unpack(bytes.NewReader(data), filepath.Join(dir, "stream"), Limits{}); err == nil || !strings.Contains(err.Error(), "UnpackZip") {
				t.Fatalf("Unpack of a zip stream: %v", err)
			}
		})
	}
	if got := Detect([]byte("hello world")); got != Unknown {
		t.Fatalf("Detect(text) = %v", got)
	}
	if got := Detect(nil); got != Unknown {
		t.Fatalf("Detect(nil) = %v", got)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x")
	if err := os.WriteFile(p, []byte("not an archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UnpackFile(p, filepath.Join(dir, "out"), Limits{}); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("err = %v, want ErrUnknownFormat", err)
	}
	if err := Unpack(strings.NewReader("nope"), filepath.Join(dir, "out2"), Limits{}); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("err = %v, want ErrUnknownFormat", err)
	}
}

func TestDetectV7Tar(t *testing.T) {
	data := buildTar(t, []tarEntry{{name: "a", body: "x"}})
	v7 := append([]byte(nil), data...)
	copy(v7[257:265], make([]byte, 8)) // drop the ustar magic and version
	// Recompute the checksum for the changed block.
	var sum int64
	for i, c := range v7[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	copy(v7[148:156], []byte(strings.Repeat("0", 1)+formatOctal(sum)+"\x00 "))
	if got := Detect(v7); got != Tar {
		t.Fatalf("Detect(v7 tar) = %v", got)
	}
}

func formatOctal(v int64) string {
	s := ""
	for i := 0; i < 5; i++ {
		s = string(rune('0'+v%8)) + s
		v /= 8
	}
	return s
}
