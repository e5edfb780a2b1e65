package build

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"testing"
)

// TestZipToTar: a zip's directories, files (with their permission bits and content) and
// symbolic links become the same entries of a tar, in order; a zip that is not one is refused.
func TestZipToTar(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	add := func(name string, mode fs.FileMode, content string) {
		t.Helper()
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(f, content); err != nil {
			t.Fatal(err)
		}
	}
	add("bin/", fs.ModeDir|0o755, "")
	add("bin/run.sh", 0o755, "#!/bin/sh\necho hi\n")
	add("README", 0o644, "hello")
	add("link", fs.ModeSymlink|0o777, "README")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := zipToTar(context.Background(), bytes.NewReader(zb.Bytes()), int64(zb.Len()), &out); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		name     string
		typ      byte
		mode     int64
		content  string
		linkname string
	}
	want := []entry{{"bin/", tar.TypeDir, 0o755, "", ""}, {"bin/run.sh", tar.TypeReg, 0o755, "#!/bin/sh\necho hi\n", ""},
		{"README", tar.TypeReg, 0o644, "hello", ""}, {"link", tar.TypeSymlink, 0o777, "", "README"}}
	tr := tar.NewReader(&out)
	for i := 0; ; i++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if i != len(want) {
				t.Fatalf("the tar has %d entries, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got := entry{h.Name, h.Typeflag, h.Mode, string(body), h.Linkname}
		if i >= len(want) || got != want[i] {
			t.Fatalf("entry %d = %+v", i, got)
		}
	}
	if err := zipToTar(context.Background(), bytes.NewReader([]byte("not a zip")), 9, io.Discard); err == nil {
		t.Fatal("a non-zip converted")
	}
}
