package session

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUntar: whatever the source tar holds, Untar writes nothing outside its folder, and when it
// accepts the tar no link in the folder resolves outside it (a refused tar fails the build, whose
// workspace is then removed). The folder is base/a/out, so an escape by one or two levels shows
// as an extra entry in base or base/a.
func FuzzUntar(f *testing.F) {
	type entry struct {
		name, body, link string
		typ              byte
		mode             int64
	}
	seeds := [][]entry{
		{{name: "buildspec.yml", body: "version: 0.2\n"}, {name: "src/", typ: tar.TypeDir, mode: 0o755}, {name: "src/a.txt", body: "a"}},
		{{name: "../evil", body: "x"}},
		{{name: "/abs", body: "x"}},
		{{name: "l", typ: tar.TypeSymlink, link: ".."}, {name: "l/x", body: "x"}},
		{{name: "d", typ: tar.TypeSymlink, link: "."}, {name: "e", typ: tar.TypeSymlink, link: "d/.."}},
		{{name: "h", typ: tar.TypeLink, link: "../x"}, {name: "p", typ: tar.TypeFifo}},
		{{name: "f", body: "x", mode: 0o4755}, {name: "g", typ: tar.TypeLink, link: "f"}},
	}
	for _, s := range seeds {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range s {
			h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
			if h.Typeflag == 0 {
				h.Typeflag = tar.TypeReg
			}
			if h.Mode == 0 {
				h.Mode = 0o644
			}
			if h.Typeflag != tar.TypeReg {
				h.Size = 0
			}
			if err := tw.WriteHeader(h); err != nil {
				f.Fatal(err)
			}
			if h.Size > 0 {
				_, _ = tw.Write([]byte(e.body))
			}
		}
		_ = tw.Close()
		// Without the end marker (two zero blocks: archive/tar takes a clean EOF at a header
		// as the end), so that the engine's minimisation of each input stays short.
		f.Add(buf.Bytes()[:buf.Len()-1024])
	}
	lim := SourceLimits{MaxBytes: 1 << 20, MaxEntries: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		out := filepath.Join(base, "a", "out")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		err := Untar(bytes.NewReader(data), out, lim)
		for dir, only := range map[string]string{base: "a", filepath.Join(base, "a"): "out"} {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != only {
					t.Fatalf("Untar wrote %s outside its folder", filepath.Join(dir, e.Name()))
				}
			}
		}
		_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, werr error) error {
			if err == nil && werr == nil && d.Type()&fs.ModeSymlink != 0 {
				linkResolvesInside(t, out, p)
			}
			return nil
		})
		// Make the tree removable whatever modes the tar gave it.
		_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
}

// linkResolvesInside fails the test when the link p resolves outside dir (a dangling link
// resolves nowhere and passes).
func linkResolvesInside(t *testing.T, dir, p string) {
	t.Helper()
	target, err := filepath.EvalSymlinks(p)
	if err == nil && target != dir && !strings.HasPrefix(target, dir+string(filepath.Separator)) {
		t.Fatalf("link %s resolves outside the folder, to %s", p, target)
	}
}
