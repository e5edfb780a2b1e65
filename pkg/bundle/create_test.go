package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// writeTree builds a small tree with a nested folder, an executable, a
// setuid file and a symlink, with the given modification time.
func writeTree(t *testing.T, dir string, mtime time.Time) {
	t.Helper()
	files := map[string]struct {
		body string
		mode os.FileMode
	}{
		"appspec.yml":         {"version: 0.0\nos: linux\n", 0o644},
		"scripts/start.sh":    {"#!/bin/sh\necho start\n", 0o755},
		"app/bin/tool":        {"binary", 0o750 | os.ModeSetuid},
		"app/lib/a/b/c/d.txt": {"deep", 0o600},
		"z-last":              {"", 0o644},
	}
	for name, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("scripts/start.sh", filepath.Join(dir, "start")); err != nil {
		t.Fatal(err)
	}
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink == 0 {
			_ = os.Chtimes(p, mtime, mtime)
		}
		return nil
	})
}

func TestCreateIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	writeTree(t, b, time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	var bufA, bufB bytes.Buffer
	infoA, err := Create(&bufA, a)
	if err != nil {
		t.Fatal(err)
	}
	infoB, err := Create(&bufB, b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bufA.Bytes(), bufB.Bytes()) || infoA != infoB {
		t.Fatalf("same content gave different bundles: %+v vs %+v", infoA, infoB)
	}
	sum := sha256.Sum256(bufA.Bytes())
	if infoA.SHA256 != hex.EncodeToString(sum[:]) || infoA.Size != int64(bufA.Len()) {
		t.Fatalf("info %+v does not describe the bytes written", infoA)
	}
	if infoA.Entries != 13 {
		t.Fatalf("entries = %d, want 13", infoA.Entries)
	}
	// A change of content must change the digest.
	if err := os.WriteFile(filepath.Join(b, "z-last"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var bufC bytes.Buffer
	infoC, err := Create(&bufC, b)
	if err != nil {
		t.Fatal(err)
	}
	if infoC.SHA256 == infoA.SHA256 {
		t.Fatal("different content gave the same digest")
	}
}

func TestCreateHeaders(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, time.Now())
	var buf bytes.Buffer
	if _, err := Create(&buf, dir); err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !gz.ModTime.IsZero() || gz.Name != "" {
		t.Fatalf("gzip header not fixed: %v %q", gz.ModTime, gz.Name)
	}
	tr := tar.NewReader(gz)
	var names []string
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		modes[h.Name] = h.Mode
		if !h.ModTime.Equal(Epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Fatalf("%s: header not fixed: %+v", h.Name, h)
		}
		if h.Name == "start" && (h.Typeflag != tar.TypeSymlink || h.Linkname != "scripts/start.sh") {
			t.Fatalf("symlink not kept: %+v", h)
		}
	}
	want := []string{"app/", "app/bin/", "app/bin/tool", "app/lib/", "app/lib/a/", "app/lib/a/b/", "app/lib/a/b/c/", "app/lib/a/b/c/d.txt", "appspec.yml", "scripts/", "scripts/start.sh", "start", "z-last"}
	if len(names) != len(want) {
		t.Fatalf("entries %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entry %d = %q, want %q (order must be sorted)", i, names[i], want[i])
		}
	}
	if modes["app/bin/tool"] != 0o4750 || modes["scripts/start.sh"] != 0o755 {
		t.Fatalf("modes not kept: %o %o", modes["app/bin/tool"], modes["scripts/start.sh"])
	}
}

func TestCreateRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	_, err := Create(io.Discard, dir)
	if !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("err = %v, want ErrUnsupportedType", err)
	}
}

func TestRoundTrip(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, time.Now())
	var buf bytes.Buffer
	if _, err := Create(&buf, src); err != nil {
		t.Fatal(err)
	}
	base, dest := sandbox(t)
	if err := UnpackTarGz(&buf, dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	assertNothingOutside(t, base, dest)
	for _, c := range []struct {
		name string
		mode os.FileMode
	}{
		{"scripts/start.sh", 0o755},
		{"app/bin/tool", 0o750}, // Create keeps setuid; unpacking drops it
		{"app/lib/a/b/c/d.txt", 0o600},
		{"app", 0o755 | os.ModeDir},
	} {
		fi, err := os.Lstat(filepath.Join(dest, c.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.name, fi.Mode(), c.mode)
		}
	}
	target, err := os.Readlink(filepath.Join(dest, "start"))
	if err != nil || target != "scripts/start.sh" {
		t.Fatalf("symlink: %q, %v", target, err)
	}
	body, err := os.ReadFile(filepath.Join(dest, "start"))
	if err != nil || string(body) != "#!/bin/sh\necho start\n" {
		t.Fatalf("content through symlink: %q, %v", body, err)
	}
}
